package audit

import (
	"fmt"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// ArgumentMode says how much of a call's arguments an event keeps.
type ArgumentMode string

// Argument modes (config audit.arguments).
const (
	// ArgumentsOff records no arguments at all.
	ArgumentsOff ArgumentMode = "off"
	// ArgumentsKeys records the top-level argument names with null values: what was passed,
	// never what it was.
	ArgumentsKeys ArgumentMode = "keys"
	// ArgumentsFull records the values too, with secret-looking ones replaced by "[redacted]".
	ArgumentsFull ArgumentMode = "full"
)

// Mode says what happens to an event that does not fit the in-memory buffer.
type Mode string

// Buffer modes (config audit.mode).
const (
	// Lossless appends such events to the spill file, to be replayed into the store.
	Lossless Mode = "lossless"
	// Lossy drops them and counts them in vmcp_audit_dropped_total.
	Lossy Mode = "lossy"
)

// Options tunes a Recorder. Zero durations and sizes take the defaults below.
type Options struct {
	Arguments ArgumentMode
	Mode      Mode
	// Buffer is how many events may wait in memory for the store (default 10000).
	Buffer int
	// SpillDir holds the spill files and the journal (every event, written before Record
	// returns, so that a killed process loses none; see journal.go). It must belong to this
	// process alone (it is locked); it is required in lossless mode. In lossy mode without it, a batch the store refuses is
	// dropped and counted.
	SpillDir string

	// BatchSize and FlushInterval bound a write: up to BatchSize events (default 500), at most
	// FlushInterval after the first of them was taken from the buffer (default 200 ms).
	BatchSize     int
	FlushInterval time.Duration
	// WriteTimeout is the deadline of each store write (default 5 s); a write that misses it
	// counts as a failure and its batch is spilled.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the final flush when Run's context ends (default 10 s); what is
	// not written by then is spilled.
	ShutdownTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a failed write (defaults
	// 250 ms and 30 s). During backoff batches go straight to the spill file.
	RetryMin, RetryMax time.Duration
}

// Defaults.
const (
	DefaultBuffer          = 10000
	DefaultBatchSize       = 500
	DefaultFlushInterval   = 200 * time.Millisecond
	DefaultWriteTimeout    = 5 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultRetryMin        = 250 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
)

// OptionsFromConfig turns the audit section of the configuration into Options.
func OptionsFromConfig(c config.Audit) Options {
	return Options{
		Arguments: ArgumentMode(c.Arguments),
		Mode:      Mode(c.Mode),
		Buffer:    c.Buffer,
		SpillDir:  c.SpillDir,
	}
}

// withDefaults fills zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	switch o.Arguments {
	case "":
		o.Arguments = ArgumentsKeys
	case ArgumentsOff, ArgumentsKeys, ArgumentsFull:
	default:
		return o, fmt.Errorf("audit: argument mode %q is not off, keys or full", o.Arguments)
	}
	switch o.Mode {
	case "":
		o.Mode = Lossless
	case Lossless, Lossy:
	default:
		return o, fmt.Errorf("audit: mode %q is not lossless or lossy", o.Mode)
	}
	if o.Mode == Lossless && o.SpillDir == "" {
		return o, fmt.Errorf("audit: lossless mode needs a spill directory")
	}
	if o.Buffer < 0 || o.BatchSize < 0 {
		return o, fmt.Errorf("audit: buffer and batch size must not be negative")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Buffer, DefaultBuffer)
	def(&o.BatchSize, DefaultBatchSize)
	defD(&o.FlushInterval, DefaultFlushInterval)
	defD(&o.WriteTimeout, DefaultWriteTimeout)
	defD(&o.ShutdownTimeout, DefaultShutdownTimeout)
	defD(&o.RetryMin, DefaultRetryMin)
	defD(&o.RetryMax, DefaultRetryMax)
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	return o, nil
}
