package xds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// snapshotKey is the single cache key every Envoy shares: a fleet of Envoys in front of vmcp all
// get the same configuration, whatever node ids they were started with.
const snapshotKey = "vmcp"

type allNodes struct{}

func (allNodes) ID(*corev3.Node) string { return snapshotKey }

// Server is the ADS server.
type Server struct {
	cache cachev3.SnapshotCache
	log   *zap.Logger
}

// NewServer returns an ADS server with no configuration yet; call Prepare and commit before
// Envoy connects, or Envoy waits.
func NewServer(log *zap.Logger) *Server {
	return &Server{cache: cachev3.NewSnapshotCache(true, allNodes{}, zapAdapter{log.Sugar()}), log: log}
}

// Prepare builds and checks the snapshot for cfg; the returned commit publishes it. Nothing
// changes for Envoy until commit is called, so a reload rejected by another component leaves
// xDS untouched.
func (s *Server) Prepare(cfg *config.Config) (commit func(), err error) {
	res, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	snap, version, err := snapshot(res)
	if err != nil {
		return nil, err
	}
	return func() {
		if err := s.cache.SetSnapshot(context.Background(), snapshotKey, snap); err != nil {
			s.log.Error("xds: set snapshot", zap.Error(err))
			return
		}
		s.log.Info("xds: snapshot published", zap.String("version", version),
			zap.Int("clusters", len(res.Clusters)), zap.Int("route_configs", len(res.Routes)))
	}, nil
}

// snapshot versions the resources by their content, so an unchanged config pushes nothing new.
func snapshot(res *Resources) (*cachev3.Snapshot, string, error) {
	h := sha256.New()
	clusters := make([]types.Resource, 0, len(res.Clusters))
	routes := make([]types.Resource, 0, len(res.Routes))
	opts := proto.MarshalOptions{Deterministic: true}
	for _, c := range res.Clusters {
		if err := c.ValidateAll(); err != nil {
			return nil, "", fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		b, _ := opts.Marshal(c)
		h.Write(b)
		clusters = append(clusters, c)
	}
	for _, r := range res.Routes {
		if err := r.ValidateAll(); err != nil {
			return nil, "", fmt.Errorf("route %s: %w", r.Name, err)
		}
		b, _ := opts.Marshal(r)
		h.Write(b)
		routes = append(routes, r)
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	snap, err := cachev3.NewSnapshot(version, map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: clusters,
		resourcev3.RouteType:   routes,
	})
	if err != nil {
		return nil, "", err
	}
	// No snapshot.Consistent(): it expects every route table to be named by a listener in the
	// same snapshot, but our listeners are static in the bootstrap.
	return snap, version, nil
}

// Register adds the ADS (and plain CDS/RDS) services to g.
func (s *Server) Register(ctx context.Context, g *grpc.Server) {
	srv := serverv3.NewServer(ctx, s.cache, nil)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, srv)
	clusterservice.RegisterClusterDiscoveryServiceServer(g, srv)
	routeservice.RegisterRouteDiscoveryServiceServer(g, srv)
}

// Serve runs a gRPC server for xDS on lis until ctx is done.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	g := grpc.NewServer()
	s.Register(ctx, g)
	go func() {
		<-ctx.Done()
		g.Stop()
	}()
	return g.Serve(lis)
}

// zapAdapter lets go-control-plane log through zap.
type zapAdapter struct{ s *zap.SugaredLogger }

func (z zapAdapter) Debugf(f string, a ...any) { z.s.Debugf(f, a...) }
func (z zapAdapter) Infof(f string, a ...any)  { z.s.Debugf(f, a...) }
func (z zapAdapter) Warnf(f string, a ...any)  { z.s.Warnf(f, a...) }
func (z zapAdapter) Errorf(f string, a ...any) { z.s.Errorf(f, a...) }
