package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Recorder takes audit events from the request path and gets them into the Store.
//
// Record never waits for the store: it prepares the event (id, time, redaction) and hands it
// to a bounded in-memory buffer. Run, the one goroutine that owns everything behind the
// buffer, writes the buffer to the store in batches, spills batches the store cannot take to
// local files, and replays those files once the store takes writes again. Every event is also
// written as one structured log line (logger "audit", message "audit event").
//
// Lifecycle: NewRecorder → go Run(ctx) → Record from any goroutine → cancel ctx (Run flushes
// what it can within Options.ShutdownTimeout and spills the rest) → Close. Events recorded
// after Run returned go straight to the spill file, and are replayed by the next Run.
type Recorder struct {
	store Store
	opts  Options
	log   *zap.Logger // operational messages
	audit *zap.Logger // one line per event
	m     *metrics
	spill *spill // nil only in lossy mode without a spill directory
	// journal holds every event from Record until it is in the store or the spill file (nil
	// without a spill directory).
	journal *journal
	now     func() time.Time

	ch chan Event

	// mu orders Record's hand-over to ch against Run's final drain: Record sends under the
	// read lock, and once stopped is set (under the write lock) nothing is sent any more, so
	// the drain cannot miss an event. Uncontended read locks are one atomic add each.
	mu      sync.RWMutex
	stopped bool // no more sends on ch
	running bool // Run was called
	closed  bool

	quit      chan struct{}
	runDone   chan struct{}
	closeOnce sync.Once

	dropped     atomic.Int64 // also in the Prometheus counter; read by Run for its warning
	warnedDrops int64
	// journalErrs counts failed journal writes; Run warns about them once per tick.
	journalErrs       atomic.Int64
	warnedJournalErrs int64

	// pending are the events given to Pending and not recorded yet, by id: each rotation
	// journals them again, so they stay in the journal until recorded.
	pendingMu sync.Mutex
	pending   map[string]Event
	nPending  atomic.Int64

	// Owned by the Run goroutine.
	backoff  time.Duration
	retryAt  time.Time
	failing  bool   // the last write failed (for logging the transition only)
	writeSeq uint64 // store writes attempted
	okSeq    uint64 // writeSeq of the last write that succeeded
	replay   replayState
}

// NewRecorder returns a Recorder writing to store. log receives operational messages and,
// under the name "audit", one line per event. reg may be nil (no metrics exported).
func NewRecorder(store Store, opts Options, log *zap.Logger, reg prometheus.Registerer) (*Recorder, error) {
	if store == nil {
		return nil, errors.New("audit: NewRecorder needs a store")
	}
	if log == nil {
		log = zap.NewNop()
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		store: store, opts: opts, log: log, audit: log.Named("audit"), now: time.Now,
		ch:   make(chan Event, opts.Buffer),
		quit: make(chan struct{}), runDone: make(chan struct{}),
	}
	if opts.SpillDir != "" {
		if r.spill, err = openSpill(opts.SpillDir); err != nil {
			return nil, err
		}
		if r.journal, err = openJournal(opts.SpillDir); err != nil {
			r.spill.close()
			return nil, err
		}
	}
	r.m, err = newMetrics(reg, func() float64 { return float64(len(r.ch)) }, func() float64 { return float64(r.spill.size()) })
	if err != nil {
		if r.spill != nil {
			r.journal.close(false)
			r.spill.close()
		}
		return nil, err
	}
	return r, nil
}

// Pending journals ev, an event whose outcome is still to come, and returns it as it was
// journaled (id and time set): the caller records it later, complete, under that id. Until then
// it stays in the journal, across rotations, so a vmcp killed meanwhile still has it and the
// next start stores it as it was given, with outcome OutcomeUnknown; the store keeps a later,
// complete event of the same id over it. It is not stored otherwise.
func (r *Recorder) Pending(ev Event) Event {
	ev.Outcome = OutcomeUnknown
	prepare(&ev, r.opts.Arguments, r.now)
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.stopped || r.journal == nil {
		return ev
	}
	if err := r.journal.add(&ev); err != nil {
		r.journalErrs.Add(1)
	}
	r.pendingMu.Lock()
	if r.pending == nil {
		r.pending = map[string]Event{}
	}
	r.pending[ev.ID] = ev
	r.nPending.Store(int64(len(r.pending)))
	r.pendingMu.Unlock()
	return ev
}

// Record takes one event. It never waits for the store; see Options.Mode for what happens when
// the buffer is full. The caller keeps ownership of ev.Arguments (Record copies what it keeps).
func (r *Recorder) Record(ev Event) {
	prepare(&ev, r.opts.Arguments, r.now)
	if r.nPending.Load() > 0 {
		r.pendingMu.Lock()
		delete(r.pending, ev.ID)
		r.nPending.Store(int64(len(r.pending)))
		r.pendingMu.Unlock()
	}
	r.m.counted(ev.Kind)
	r.mu.RLock()
	if !r.stopped {
		// In the journal before the answer goes out: a process killed from here on still has
		// the event, for the next start to replay.
		if r.journal != nil {
			if err := r.journal.add(&ev); err != nil {
				r.journalErrs.Add(1)
			}
		}
		select {
		case r.ch <- ev:
			r.mu.RUnlock()
			return
		default:
		}
	}
	stopped := r.stopped
	r.mu.RUnlock()
	r.overflow(&ev, stopped)
}

// overflow handles an event the buffer cannot take: full, or Run has finished.
func (r *Recorder) overflow(ev *Event, stopped bool) {
	if r.opts.Mode == Lossy && !stopped || r.spill == nil {
		r.drop(1)
		return
	}
	logEvent(r.audit, ev)
	if err := r.spill.append(*ev); err != nil {
		r.drop(1)
		r.log.Error("audit: event could not be spilled; dropped", zap.String("event_id", ev.ID), zap.Error(err))
		return
	}
	r.m.spilled.Inc()
}

func (r *Recorder) drop(n int) {
	r.dropped.Add(int64(n))
	r.m.dropped.Add(float64(n))
}

// Run owns the pipeline until ctx ends or Close is called: batches from the buffer to the
// store, failures to the spill file, spill files back to the store. On the way out it writes
// what it can within ShutdownTimeout and spills the rest. It returns an error only when it
// cannot start (called twice, or after Close).
func (r *Recorder) Run(ctx context.Context) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return errors.New("audit: Run after Close")
	case r.running:
		r.mu.Unlock()
		return errors.New("audit: Run called twice")
	}
	r.running = true
	r.mu.Unlock()
	defer close(r.runDone)

	if r.spill != nil {
		segs, err := r.spill.segments()
		if err != nil {
			r.log.Error("audit: cannot list spill files; they will be replayed by the next run", zap.Error(err))
		} else if len(segs) > 0 {
			r.log.Info("audit: replaying spill files from an earlier run", zap.Int("files", len(segs)))
		}
		r.replay.queue = segs
	}

	tick := time.NewTicker(r.opts.FlushInterval)
	defer tick.Stop()
	batch := make([]Event, 0, r.opts.BatchSize)
	for {
		select {
		case <-ctx.Done():
			r.shutdown(batch)
			return nil
		case <-r.quit:
			r.shutdown(batch)
			return nil
		case ev := <-r.ch:
			batch = append(batch, ev)
			if len(batch) >= r.opts.BatchSize {
				r.flush(ctx, batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				r.flush(ctx, batch)
				batch = batch[:0]
			}
			r.syncSpill()
			r.retireJournal(ctx, &batch)
			r.warnDrops()
			// Half of each interval at most, so that the buffer keeps draining during a
			// long replay.
			r.replaySome(ctx, r.now().Add(r.opts.FlushInterval/2))
		}
	}
}

// flush logs a batch and writes it to the store, or to the spill file when the store is
// backing off or fails. The store must not keep the slice: it is reused.
func (r *Recorder) flush(ctx context.Context, batch []Event) {
	for i := range batch {
		logEvent(r.audit, &batch[i])
	}
	batch = coalesce(batch)
	if r.canWrite() {
		err := r.write(ctx, batch, r.opts.WriteTimeout)
		if err == nil {
			return
		}
		r.storeFailed(err, len(batch))
	}
	r.spillBatch(batch)
}

// coalesce drops, in place, each event of batch that a later one of the same id replaces
// (Replaces): the store would keep only the later one, so writing the first is wasted. That is
// the common case for a request authz allowed: its decision and the request's own event are
// recorded a few milliseconds apart (Handoff).
func coalesce(batch []Event) []Event {
	if len(batch) < 2 {
		return batch
	}
	at := make(map[string]int, len(batch))
	out := batch[:0]
	for _, ev := range batch {
		if i, ok := at[ev.ID]; ok && Replaces(&ev, &out[i]) {
			out[i] = ev
			continue
		}
		at[ev.ID] = len(out)
		out = append(out, ev)
	}
	return out
}

// write is one store write with its own deadline. Detached from ctx so that a write in flight
// when shutdown begins finishes (or times out) instead of failing at once.
func (r *Recorder) write(ctx context.Context, batch []Event, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	wctx, span := startWriteSpan(wctx, batch)
	r.writeSeq++
	err := r.store.InsertAuditEvents(wctx, batch)
	endWriteSpan(span, err)
	if err != nil {
		r.m.failures.Inc()
		return err
	}
	r.okSeq = r.writeSeq
	if r.failing {
		r.log.Info("audit: store writes succeed again")
	}
	r.failing, r.backoff, r.retryAt = false, 0, time.Time{}
	return nil
}

// canWrite reports whether the backoff after a failure has passed.
func (r *Recorder) canWrite() bool { return !r.now().Before(r.retryAt) }

// storeFailed starts or extends the backoff: while it lasts, batches go straight to the spill
// file instead of each waiting out a dead store's timeout.
func (r *Recorder) storeFailed(err error, events int) {
	r.backoff = min(max(2*r.backoff, r.opts.RetryMin), r.opts.RetryMax)
	r.retryAt = r.now().Add(r.backoff)
	if !r.failing {
		r.log.Warn("audit: store write failed; spilling events until it recovers",
			zap.Int("events", events), zap.Duration("retry_in", r.backoff), zap.Error(err))
	} else {
		r.log.Debug("audit: store write failed again", zap.Duration("retry_in", r.backoff), zap.Error(err))
	}
	r.failing = true
}

// spillBatch appends a batch to the spill file and makes it durable (a batch boundary).
func (r *Recorder) spillBatch(batch []Event) {
	if r.spill == nil {
		r.drop(len(batch))
		r.log.Error("audit: store failed and no spill directory; batch dropped", zap.Int("events", len(batch)))
		return
	}
	if err := r.spill.append(batch...); err != nil {
		r.drop(len(batch))
		r.log.Error("audit: batch could not be spilled; dropped", zap.Int("events", len(batch)), zap.Error(err))
		return
	}
	r.m.spilled.Add(float64(len(batch)))
	r.syncSpill()
}

func (r *Recorder) syncSpill() {
	if r.spill == nil {
		return
	}
	if err := r.spill.sync(); err != nil {
		r.log.Error("audit: spill file sync failed", zap.Error(err))
	}
}

// retireJournal, when the journal file is due, starts a new one and removes the old one once
// every event in it is in the store or the synced spill file. Record journals an event and
// hands it to the buffer under the read lock, so once the write lock has been held for the
// swap, every event of the old file is in the buffer, in the batch, or already written.
func (r *Recorder) retireJournal(ctx context.Context, batch *[]Event) {
	if r.journal == nil || !r.journal.due(r.now()) {
		return
	}
	r.mu.Lock()
	old, err := r.journal.rotate()
	if err == nil {
		// The old file goes once its recorded events are safe; pending ones must stay.
		r.pendingMu.Lock()
		for _, ev := range r.pending {
			if err := r.journal.add(&ev); err != nil {
				r.journalErrs.Add(1)
			}
		}
		r.pendingMu.Unlock()
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Error("audit: journal rotation failed; the current file grows until it works", zap.Error(err))
		return
	}
	dropped := r.dropped.Load()
	for drained := false; !drained; {
		select {
		case ev := <-r.ch:
			*batch = append(*batch, ev)
			if len(*batch) >= r.opts.BatchSize {
				r.flush(ctx, *batch)
				*batch = (*batch)[:0]
			}
		default:
			drained = true
		}
	}
	if len(*batch) > 0 {
		r.flush(ctx, *batch)
		*batch = (*batch)[:0]
	}
	// Events that overflowed the buffer went to the spill file's buffer: on disk first.
	r.syncSpill()
	if r.dropped.Load() != dropped {
		// Some event may be nowhere but in the old file: the next start replays it.
		return
	}
	if err := r.journal.retire(old); err != nil {
		r.log.Warn("audit: journal file not removed; the next start replays it (its events are stored once)", zap.Error(err))
	}
}

// warnDrops reports drops once per tick at most, from here rather than from Record: logging
// on the request path during an overload would add to it.
func (r *Recorder) warnDrops() {
	if d := r.dropped.Load(); d != r.warnedDrops {
		r.log.Warn("audit: events dropped", zap.Int64("since_last_warning", d-r.warnedDrops), zap.Int64("total", d))
		r.warnedDrops = d
	}
	if e := r.journalErrs.Load(); e != r.warnedJournalErrs {
		r.log.Warn("audit: journal writes failed; those events are lost if vmcp dies before they are stored",
			zap.Int64("since_last_warning", e-r.warnedJournalErrs), zap.Int64("total", e))
		r.warnedJournalErrs = e
	}
}

// shutdown stops the hand-over, then writes the batch and everything left in the buffer within
// ShutdownTimeout, and spills what is left. Nothing is half-written: each write is one atomic
// batch, and a batch that is not known to be written is spilled whole (replay is idempotent).
func (r *Recorder) shutdown(batch []Event) {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	dropped := r.dropped.Load()
	for drained := false; !drained; {
		select {
		case ev := <-r.ch:
			batch = append(batch, ev)
		default:
			drained = true
		}
	}
	for i := range batch {
		logEvent(r.audit, &batch[i])
	}
	deadline := r.now().Add(r.opts.ShutdownTimeout)
	for len(batch) > 0 {
		left := deadline.Sub(r.now())
		if left <= 0 || !r.canWrite() {
			break
		}
		n := min(len(batch), r.opts.BatchSize)
		if err := r.write(context.Background(), batch[:n], min(left, r.opts.WriteTimeout)); err != nil {
			r.storeFailed(err, n)
			break
		}
		batch = batch[n:]
	}
	if len(batch) > 0 {
		r.log.Warn("audit: spilling events not written at shutdown; the next run replays them", zap.Int("events", len(batch)))
		r.spillBatch(batch)
	}
	r.syncSpill()
	if r.replay.cur != nil {
		r.replay.cur.close()
	}
	// Nothing is journaled any more, and every journaled event is stored or spilled — unless
	// one was dropped just now: then the file stays, for the next start to replay.
	if r.journal != nil {
		if err := r.journal.close(r.dropped.Load() == dropped); err != nil {
			r.log.Warn("audit: journal not removed at shutdown; the next start replays it (its events are stored once)", zap.Error(err))
		}
	}
}

// Close stops Run (as if its context ended) and waits for it, spills whatever is still in the
// buffer, and releases the spill directory. Events recorded after Close are dropped and
// counted. Safe to call more than once, and without Run.
func (r *Recorder) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		running := r.running
		r.mu.Unlock()
		close(r.quit)
		if running {
			<-r.runDone
		}
		r.mu.Lock()
		r.stopped = true
		r.mu.Unlock()
		// Run never ran: what it would have written goes to the spill file instead.
		var rest []Event
		for drained := false; !drained; {
			select {
			case ev := <-r.ch:
				rest = append(rest, ev)
			default:
				drained = true
			}
		}
		for i := range rest {
			logEvent(r.audit, &rest[i])
		}
		if len(rest) > 0 {
			r.spillBatch(rest)
		}
		if r.spill != nil {
			err = r.spill.close()
		}
		// Every journaled event is in the store or the spill file now — unless closing the
		// spill file failed, in which case the journal stays for the next start to replay.
		if r.journal != nil {
			if jerr := r.journal.close(err == nil); err == nil {
				err = jerr
			}
		}
	})
	return err
}
