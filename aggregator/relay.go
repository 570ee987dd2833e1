package aggregator

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/connsession"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/relay"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// relayRetry is how long a connector's GET stream rests before vmcp opens it again.
var relayRetry = time.Second

// relayStreams opens the GET stream of each connector the client's session has a session with
// and sends its events, rewritten (internal/relay), to out until ctx ends: requests a connector
// makes of the client outside any call (roots/list, say) and its notifications. A connector's
// list_changed is not passed on as it is: it empties vmcp's cache of that list and every client
// of a virtual server with the connector hears of it from vmcp. A Last-Event-ID that vmcp minted
// resumes only the connector that sent that event.
func (s *Server) relayStreams(ctx context.Context, req *request, sess *session.State, lastEventID string, out chan<- []byte) {
	resume, resumeID, resuming := relay.ParseEventID(lastEventID)
	for _, c := range req.vs.connectors {
		sid := sess.Upstream[c.name]
		if sid == "" || (resuming && c.name != resume) {
			continue
		}
		last := ""
		if resuming {
			last = resumeID
		}
		ref := s.sessionRef(req, c, sid)
		cl := call{connector: c, sessionID: s.remaps.current(ref.Subject, ref.VirtualServer, c.name, sid), protocolVersion: sess.ProtocolVersion, identity: req.signed}
		go s.relayOne(ctx, req.catalog, cl, ref, last, out)
	}
}

func (s *Server) relayOne(ctx context.Context, catalog *catalog, cl call, ref connsession.Ref, last string, out chan<- []byte) {
	// No translation (internal/translate): the connector session was opened in the client's own
	// revision, or an older 2025 one whose messages the client reads as they are.
	rw := &relay.Rewriter{Connector: cl.connector.name}
	for ctx.Err() == nil {
		resp, err := s.up.stream(ctx, cl, last)
		if err != nil {
			s.log.Debug("aggregator: connector GET stream", zap.String("connector", cl.connector.name), zap.Error(err))
		} else if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 502 && resp.StatusCode <= 504 {
			// Restarting (Envoy's 502-504 while it is down), then the session is gone (404):
			// the stream goes on, after the usual pause, in the session that replaces it
			// (reopen.go).
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				ref.Stale = cl.sessionID
				sid, _, _, err := s.replace(ctx, cl.connector, ref)
				if err != nil {
					s.log.Debug("aggregator: connector GET stream", zap.String("connector", cl.connector.name), zap.Error(err))
				} else {
					cl.sessionID, last = sid, ""
				}
			}
		} else if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			// 405: the connector offers no GET stream; 404/400: no such session. Either way
			// there is nothing to relay.
			return
		} else {
			last = s.relayEvents(ctx, catalog, cl.connector.name, resp, rw, last, out)
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(relayRetry):
		}
	}
}

// relayEvents passes one open GET stream on and returns the id of the last event seen, to resume
// from.
func (s *Server) relayEvents(ctx context.Context, catalog *catalog, connector string, resp *http.Response, rw *relay.Rewriter, last string, out chan<- []byte) string {
	r := sse.NewReader(resp.Body)
	for {
		ev, err := r.Next()
		if err != nil {
			return last
		}
		if ev.ID != "" {
			last = ev.ID
		}
		if len(bytes.TrimSpace(ev.Data)) == 0 {
			continue // a priming event: only its id matters
		}
		if m, err := jsonrpc.Parse(ev.Data); err == nil && m.IsNotification() && strings.HasSuffix(m.Method, "/list_changed") {
			kind := strings.TrimSuffix(strings.TrimPrefix(m.Method, "notifications/"), "/list_changed")
			catalog.lists.drop(connector, kind)
			s.listChangedAt(catalog, connector, kind)
			continue
		}
		select {
		case out <- rw.Event(rawEvent(ev)):
		case <-ctx.Done():
			return last
		}
	}
}

// rawEvent writes an event back in the wire format the rewriter reads.
func rawEvent(ev sse.Event) []byte {
	var b bytes.Buffer
	if ev.Name != "" {
		b.WriteString("event: " + ev.Name + "\n")
	}
	if ev.ID != "" {
		b.WriteString("id: " + ev.ID + "\n")
	}
	for i, line := range bytes.Split(ev.Data, []byte("\n")) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("data: ")
		b.Write(line)
	}
	return b.Bytes()
}

// listKinds maps a list kind to the list methods vmcp caches for it.
var listKinds = map[string][]string{
	"tools":     {"tools/list"},
	"prompts":   {"prompts/list"},
	"resources": {"resources/list", "resources/templates/list"},
}
