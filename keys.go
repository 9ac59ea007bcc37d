package backoff

import (
	"fmt"
	"sync"

	"github.com/backoff-go/backoff/internal/sched"
)

// keyring holds the live jobs that have a key. Submit adds a job, the
// job's end removes it (before the end is published, so that whoever sees
// the end may submit the key again), Cancel and Trigger look it up. Its
// lock guards only the map.
type keyring struct {
	mu sync.Mutex
	m  map[string]keyedJob
}

// keyedJob is a job that can be stopped and triggered by its key.
type keyedJob interface {
	sched.Job
	cancel()
	trigger()
}

func (k *keyring) add(key string, j keyedJob) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m[key] != nil {
		return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
	}
	if k.m == nil {
		k.m = make(map[string]keyedJob)
	}
	k.m[key] = j
	return nil
}

// remove drops key if it still belongs to j.
func (k *keyring) remove(key string, j keyedJob) {
	k.mu.Lock()
	if k.m[key] == j {
		delete(k.m, key)
	}
	k.mu.Unlock()
}

func (k *keyring) get(key string) keyedJob {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[key]
}
