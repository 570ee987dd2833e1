package clientmeta

import "context"

// flight is one fetch of one URL that every concurrent caller for that URL waits on, so a burst
// of authorization requests from one client costs the client's server one request.
type flight struct {
	done chan struct{} // closed when doc and err are set
	doc  *Document
	err  error
}

// join returns the cached document, or the flight for clientID, starting one if none is under
// way. The fetch runs on the Fetcher's own context, not the caller's, so one caller giving up
// does not fail the others; it ends within the Fetcher's timeout or when Close is called.
func (f *Fetcher) join(clientID string) (*Document, *flight, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if doc, ok := f.cacheGet(clientID, f.now()); ok {
		return doc, nil, nil
	}
	if fl, ok := f.flights[clientID]; ok {
		if f.onJoin != nil {
			f.onJoin()
		}
		return nil, fl, nil
	}
	// Distinct URLs in flight at once are bounded: each holds a goroutine and a connection for
	// up to the timeout, and the URLs are chosen by unauthenticated clients.
	select {
	case f.slots <- struct{}{}:
	default:
		return nil, nil, errTooBusy
	}
	fl := &flight{done: make(chan struct{})}
	f.flights[clientID] = fl
	go f.run(clientID, fl)
	return nil, fl, nil
}

func (f *Fetcher) run(clientID string, fl *flight) {
	ctx, cancel := context.WithTimeout(f.base, f.timeout)
	doc, ttl, err := f.fetch(ctx, clientID)
	cancel()

	// Cache, forget the flight and free its slot before waking the waiters, so a caller that
	// returns from Fetch and fetches again finds the cache entry and a free slot.
	f.mu.Lock()
	if err == nil {
		now := f.now()
		f.cachePut(clientID, doc, now.Add(ttl), now)
	}
	delete(f.flights, clientID)
	fl.doc, fl.err = doc, err
	<-f.slots
	f.mu.Unlock()
	close(fl.done)
}

// wait returns the flight's outcome, or the caller's context error if that comes first.
func (fl *flight) wait(ctx context.Context) (*Document, error) {
	select {
	case <-fl.done:
		return fl.doc, fl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
