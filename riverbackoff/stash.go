package riverbackoff

import (
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// waitStash hands the wait that Work decided to NextRetry, which River
// calls right after Work returns, with the same *river.Job. An entry that
// NextRetry never takes (a client ErrorHandler cancelled the job) is
// swept after a minute.
type waitStash[A river.JobArgs] struct {
	mu      sync.Mutex
	m       map[*river.Job[A]]stashed
	sweepAt int
}

type stashed struct {
	wait time.Duration
	at   time.Time
}

func (s *waitStash[A]) put(job *river.Job[A], wait time.Duration) {
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
	s.m[job] = stashed{wait, now}
}

func (s *waitStash[A]) take(job *river.Job[A]) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[job]
	if ok {
		delete(s.m, job)
	}
	return e.wait, ok
}
