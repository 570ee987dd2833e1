package audit

// Sink takes events on the request path. *Recorder is the real one; components accept the
// interface so that their unit tests can collect events without a store.
type Sink interface {
	Record(Event)
}

// Discard is a Sink that keeps nothing.
type Discard struct{}

// Record drops ev.
func (Discard) Record(Event) {}
