package audit

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// retentionDeleteTimeout bounds one delete statement.
const retentionDeleteTimeout = 30 * time.Second

// RunRetention deletes events older than maxAge, now and then every interval, until ctx ends.
// Each round deletes in batches of at most batch events until none older than the round's
// cutoff is left, so no single statement holds the table for long. A failed round is logged
// and retried at the next interval. maxAge <= 0 keeps events forever: RunRetention returns at
// once. Several replicas may run it against one database; they only share the work.
func RunRetention(ctx context.Context, store Store, maxAge time.Duration, batch int, interval time.Duration, log *zap.Logger) error {
	if maxAge <= 0 {
		return nil
	}
	if batch <= 0 {
		batch = 1000
	}
	if interval <= 0 {
		interval = time.Hour
	}
	if log == nil {
		log = zap.NewNop()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		retentionRound(ctx, store, time.Now().Add(-maxAge), batch, log)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func retentionRound(ctx context.Context, store Store, cutoff time.Time, batch int, log *zap.Logger) {
	total := 0
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, retentionDeleteTimeout)
		n, err := store.DeleteAuditEventsBefore(dctx, cutoff, batch)
		cancel()
		total += n
		if err != nil {
			if ctx.Err() == nil {
				log.Error("audit: retention delete failed; retrying next interval", zap.Int("deleted", total), zap.Error(err))
			}
			return
		}
		if n == 0 {
			break
		}
	}
	if total > 0 {
		log.Info("audit: retention deleted old events", zap.Int("deleted", total), zap.Time("before", cutoff))
	}
}
