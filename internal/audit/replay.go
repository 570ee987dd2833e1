package audit

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// replayState is where Run is in the spill files; only Run touches it.
type replayState struct {
	queue []string       // closed segments not yet opened, oldest first
	cur   *segmentReader // the segment being replayed
	eof   bool           // cur has no more lines
	// pending holds batches read from cur but not yet in the store; pending[0] goes next.
	// A batch the store refuses while it accepts others is split here until the event it
	// refuses is alone, and that one is set aside (see refused).
	pending [][]Event
	// failSeq is the Recorder's writeSeq when pending[0] last failed (0: it has not).
	failSeq uint64
}

// replaySome moves spilled events into the store until the deadline, the spill files are
// empty, or a write fails. It runs between buffer batches, so the buffer keeps draining while
// a long backlog is replayed.
func (r *Recorder) replaySome(ctx context.Context, deadline time.Time) {
	if r.spill == nil {
		return
	}
	replay := &r.replay
	for r.now().Before(deadline) && r.canWrite() {
		if len(replay.pending) == 0 && !r.readBatch() {
			return
		}
		if len(replay.pending) == 0 {
			continue // the segment ended; readBatch moved on
		}
		batch := replay.pending[0]
		err := r.write(ctx, batch, r.opts.WriteTimeout)
		if err == nil {
			r.m.replayed.Add(float64(len(batch)))
			replay.pending, replay.failSeq = replay.pending[1:], 0
			continue
		}
		// The store accepted another write since this batch last failed: the batch, not the
		// store, is the problem. Halve it until the refused event is alone.
		if replay.failSeq != 0 && r.okSeq > replay.failSeq {
			replay.failSeq = r.writeSeq
			if len(batch) > 1 {
				h := len(batch) / 2
				replay.pending = append([][]Event{batch[:h], batch[h:]}, replay.pending[1:]...)
			} else {
				r.refused(&batch[0], err)
				replay.pending, replay.failSeq = replay.pending[1:], 0
			}
			continue
		}
		replay.failSeq = r.writeSeq
		r.storeFailed(err, len(batch))
		return
	}
}

// readBatch fills pending from the current segment, opening the next one (or rotating the
// active one) when needed, and removes a segment once it is fully written. It reports false
// when there is nothing to replay.
func (r *Recorder) readBatch() bool {
	replay := &r.replay
	if replay.cur != nil && replay.eof {
		r.finishSegment()
	}
	if replay.cur == nil {
		if len(replay.queue) == 0 {
			p, err := r.spill.rotate()
			if err != nil {
				r.log.Error("audit: rotating the spill file for replay", zap.Error(err))
			}
			if p == "" {
				return false
			}
			replay.queue = append(replay.queue, p)
		}
		p := replay.queue[0]
		replay.queue = replay.queue[1:]
		cur, err := openSegmentReader(p)
		if err != nil {
			r.log.Error("audit: cannot open spill file; skipping it until the next run", zap.String("file", p), zap.Error(err))
			return true
		}
		replay.cur, replay.eof = cur, false
	}
	evs, eof, err := replay.cur.next(r.opts.BatchSize)
	if err != nil {
		r.log.Error("audit: cannot read spill file; skipping it until the next run", zap.String("file", replay.cur.path), zap.Error(err))
		replay.cur.close()
		replay.cur = nil
		return true
	}
	replay.eof = eof
	if len(evs) > 0 {
		replay.pending = append(replay.pending, evs)
	}
	return true
}

// finishSegment removes a segment whose every event is in the store. Removal comes after the
// last write, so a crash before it only means the segment is replayed again, which the store's
// idempotent insert absorbs.
func (r *Recorder) finishSegment() {
	replay := &r.replay
	cur := replay.cur
	replay.cur = nil
	cur.close()
	if cur.skipped > 0 {
		msg := "audit: spill file had lines that are not events; skipped them"
		if cur.torn {
			msg = "audit: spill file ends in a torn line (a crash while writing); skipped it"
		}
		r.log.Warn(msg, zap.String("file", cur.path), zap.Int("skipped", cur.skipped), zap.Int("lines", cur.line))
	}
	if err := r.spill.remove(cur.path); err != nil {
		r.log.Error("audit: replayed spill file not removed; it will be replayed again", zap.Error(err))
	}
}

// refused sets aside an event the store rejects while it accepts others, so that one bad event
// cannot stop the replay of everything behind it.
func (r *Recorder) refused(ev *Event, err error) {
	r.m.rejected.Inc()
	if rerr := r.spill.reject(ev); rerr != nil {
		r.drop(1)
		r.log.Error("audit: store refuses an event and it could not be set aside; dropped",
			zap.String("event_id", ev.ID), zap.NamedError("store_error", err), zap.Error(rerr))
		return
	}
	r.log.Error("audit: store refuses an event; set aside in "+rejectedFile,
		zap.String("event_id", ev.ID), zap.String("dir", r.opts.SpillDir), zap.Error(err))
}
