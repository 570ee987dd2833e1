package main

import (
	"context"
	"net"
	"sync/atomic"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// spanCounter is an OTLP/gRPC trace receiver that counts the spans it is sent, by service, and
// keeps none: the collector's own cost stays out of the figures.
type spanCounter struct {
	collectortracepb.UnimplementedTraceServiceServer
	addr        string
	srv         *grpc.Server
	envoy, vmcp atomic.Int64
}

func startSpanCounter() (*spanCounter, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &spanCounter{addr: lis.Addr().String(), srv: grpc.NewServer()}
	collectortracepb.RegisterTraceServiceServer(c.srv, c)
	go c.srv.Serve(lis)
	return c, nil
}

// address is where vmcp and Envoy export to; "" (tracing off) for a nil counter.
func (c *spanCounter) address() string {
	if c == nil {
		return ""
	}
	return c.addr
}

func (c *spanCounter) stop() { c.srv.Stop() }

func (c *spanCounter) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	for _, rs := range req.GetResourceSpans() {
		n := int64(0)
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
		counter := &c.vmcp
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" && a.GetValue().GetStringValue() == "vmcp-envoy" {
				counter = &c.envoy
			}
		}
		counter.Add(n)
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}
