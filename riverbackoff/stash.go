package riverbackoff

import (
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// waitStash hands the retry time that Work decided to NextRetry, which
// River calls right after Work returns, with the same *river.Job. It is
// a time (the attempt's end plus the wait), not a wait: the handlers and
// the record's write that come between must not push the retry later. An entry that
// NextRetry never takes (a client ErrorHandler cancelled the job) is
// swept after a minute.
type waitStash[A river.JobArgs] struct {
	mu      sync.Mutex
	m       map[*river.Job[A]]stashed
	sweepAt int
}

type stashed struct {
	due time.Time
	at  time.Time
}

func (s *waitStash[A]) put(job *river.Job[A], due time.Time) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[*river.Job[A]]stashed)
	}
	if len(s.m) >= max(s.sweepAt, 64) {
		for k, e := range s.m {
			if now.Sub(e.at) > time.Minute {
				delete(s.m, k)
			}
		}
		s.sweepAt = 2 * len(s.m)
	}
	s.m[job] = stashed{due, now}
}

func (s *waitStash[A]) take(job *river.Job[A]) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[job]
	if ok {
		delete(s.m, job)
	}
	return e.due, ok
}
