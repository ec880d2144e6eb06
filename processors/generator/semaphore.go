package generator

import (
	"context"
	"sync"
)

// weighted is a FIFO weighted semaphore: a request of k sequences waits until k are free, and no
// later request overtakes it (so a large request is never starved by small ones).
type weighted struct {
	mu      sync.Mutex
	size    int
	cur     int
	waiters []*waiter
}

type waiter struct {
	n     int
	ready chan struct{}
}

func newWeighted(size int) *weighted { return &weighted{size: size} }

// acquire takes n (clamped to the size) and returns how many it took, to pass to release.
func (s *weighted) acquire(ctx context.Context, n int) (int, error) {
	n = min(max(n, 1), s.size)
	s.mu.Lock()
	if len(s.waiters) == 0 && s.size-s.cur >= n {
		s.cur += n
		s.mu.Unlock()
		return n, nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready: // granted while we were cancelled: give it back
			s.cur -= n
		default:
			for i, x := range s.waiters {
				if x == w {
					s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
					break
				}
			}
		}
		s.grant()
		s.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (s *weighted) release(n int) {
	s.mu.Lock()
	s.cur -= n
	s.grant()
	s.mu.Unlock()
}

func (s *weighted) grant() {
	for len(s.waiters) > 0 && s.size-s.cur >= s.waiters[0].n {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.cur += w.n
		close(w.ready)
	}
}
