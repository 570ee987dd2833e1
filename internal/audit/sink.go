package audit

// Sink takes events on the request path. *Recorder is the real one; components accept the
// interface so that their unit tests can collect events without a store.
type Sink interface {
	Record(Event)
}

// PendingSink is a Sink that can also hold an event whose outcome is still to come (see
// Recorder.Pending).
type PendingSink interface {
	Sink
	Pending(Event) Event
}

// Discard is a Sink that keeps nothing.
type Discard struct{}

// Record drops ev.
func (Discard) Record(Event) {}
