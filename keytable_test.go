package backoff

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// size sums the table's shards: slots, live keys and tombstones.
func (k *keyTable) size() (slots, live, gone int) {
	ss := k.set.Load()
	if ss == nil {
		return 0, 0, 0
	}
	for i := range ss.shard {
		s := &ss.shard[i]
		s.mu.Lock()
		slots, live, gone = slots+len(s.slots), live+s.live, gone+s.gone
		s.mu.Unlock()
	}
	return slots, live, gone
}

func TestKeyTableAddGetRemove(t *testing.T) {
	var k keyTable
	if k.get("a") != nil {
		t.Fatal("get on an empty table found a job")
	}
	k.remove(&jobCtl{key: "a"}) // on an empty table: nothing to do
	if err := k.add(&jobCtl{key: "b"}); err != nil {
		t.Fatal(err)
	}
	// A remove on a shard that has no slots yet: a key of another shard.
	ss := k.set.Load()
	elsewhere := "a"
	for i := 0; ss.of(ss.hash(elsewhere)) == ss.of(ss.hash("b")); i++ {
		elsewhere = fmt.Sprint("a", i)
	}
	k.remove(&jobCtl{key: elsewhere})
	k.remove(&jobCtl{key: "b"}) // a job that does not hold "b"
	if k.get("b") == nil {
		t.Fatal("remove by a job that was never added took the key")
	}
	k.remove(k.get("b"))
	const n = 5000
	cs := make([]*jobCtl, n)
	for i := range cs {
		cs[i] = &jobCtl{key: fmt.Sprint("key-", i)}
		if err := k.add(cs[i]); err != nil {
			t.Fatalf("add %q: %v", cs[i].key, err)
		}
	}
	for _, c := range cs {
		if got := k.get(c.key); got != c {
			t.Fatalf("get %q = %p, want %p", c.key, got, c)
		}
	}
	other := &jobCtl{key: cs[7].key}
	err := k.add(other)
	if !errors.Is(err, ErrDuplicateKey) || err.Error() != `backoff: duplicate key: "key-7"` {
		t.Fatalf("add of a live key: %v, want ErrDuplicateKey naming it", err)
	}
	k.remove(other) // the key belongs to cs[7]: it stays
	if k.get(cs[7].key) != cs[7] {
		t.Fatal("remove by another job with the same key took the key")
	}
	for _, c := range cs[:n/2] {
		k.remove(c)
	}
	for i, c := range cs {
		want := c
		if i < n/2 {
			want = nil
		}
		if got := k.get(c.key); got != want {
			t.Fatalf("after removing the first half, get %q = %p, want %p", c.key, got, want)
		}
	}
	if err := k.add(other); err != nil || k.get("key-7") != other {
		t.Fatalf("a freed key could not be added again: %v", err)
	}
	if _, live, _ := k.size(); live != n/2+1 {
		t.Fatalf("%d live keys, want %d", live, n/2+1)
	}
	if k.get("") != nil {
		t.Fatal(`get("") found a job`)
	}
	empty := &jobCtl{}
	if err := k.add(empty); err != nil || k.get("") != empty {
		t.Fatalf(`the key "" is a key like another: %v`, err)
	}
}

// TestKeyTableGrowth: a table that grows keeps every key, at a load that
// wastes no more than the rebuilds' 7/12 allows.
func TestKeyTableGrowth(t *testing.T) {
	var k keyTable
	const n = 200_000
	cs := make([]*jobCtl, n)
	for i := range cs {
		cs[i] = &jobCtl{key: fmt.Sprintf("%08x", i)}
		if err := k.add(cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		if k.get(c.key) != c {
			t.Fatalf("key %q lost as the table grew", c.key)
		}
	}
	slots, live, gone := k.size()
	if live != n || gone != 0 {
		t.Fatalf("live %d, tombstones %d; want %d, 0", live, gone, n)
	}
	if slots > n*12/7+keyShardCount*minKeySlots {
		t.Fatalf("%d slots for %d keys: more than 12/7 a key", slots, n)
	}
	if slots < n*8/7 {
		t.Fatalf("%d slots for %d keys: fuller than 7/8", slots, n)
	}
}

// TestKeyTableChurn: many add and remove cycles over a steady set of live
// keys keep every live key findable, forget the removed ones, and do not
// grow the table; removing every key shrinks it back.
func TestKeyTableChurn(t *testing.T) {
	var k keyTable
	const live = 4000
	r := rand.New(rand.NewPCG(1, 2))
	set := make([]*jobCtl, live)
	next := 0
	fresh := func() *jobCtl {
		next++
		return &jobCtl{key: fmt.Sprint("job-", next)}
	}
	for i := range set {
		set[i] = fresh()
		if err := k.add(set[i]); err != nil {
			t.Fatal(err)
		}
	}
	bound := live*12/7 + keyShardCount*(minKeySlots+8)
	for cycle := range 1_000_000 {
		i := r.IntN(live)
		old := set[i]
		k.remove(old)
		if cycle%1000 == 0 && k.get(old.key) != nil {
			t.Fatalf("cycle %d: removed key %q still found", cycle, old.key)
		}
		set[i] = fresh()
		if err := k.add(set[i]); err != nil {
			t.Fatal(err)
		}
		if cycle%10_000 == 0 {
			if slots, n, _ := k.size(); n != live || slots > bound {
				t.Fatalf("cycle %d: %d live keys in %d slots, want %d in at most %d", cycle, n, slots, live, bound)
			}
		}
	}
	for _, c := range set {
		if k.get(c.key) != c {
			t.Fatalf("live key %q lost in the churn", c.key)
		}
	}
	for _, c := range set {
		k.remove(c)
	}
	if slots, n, gone := k.size(); n != 0 || gone != 0 || slots != keyShardCount*minKeySlots {
		t.Fatalf("emptied: %d slots, %d live, %d tombstones; want %d, 0, 0", slots, n, gone, keyShardCount*minKeySlots)
	}
}

// TestKeyTableConcurrent: goroutines add, find and remove keys of their
// own, and race for shared keys, which are held by one job at a time.
func TestKeyTableConcurrent(t *testing.T) {
	var k keyTable
	const (
		workers = 8
		rounds  = 3000
		shared  = 16
	)
	var holders [shared]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				own := &jobCtl{key: fmt.Sprint("own-", w, "-", i)}
				if err := k.add(own); err != nil {
					t.Errorf("own key: %v", err)
					return
				}
				s := i % shared
				c := &jobCtl{key: fmt.Sprint("shared-", s)}
				if k.add(c) == nil {
					if holders[s].Add(1) != 1 {
						t.Errorf("shared key %d held by two jobs", s)
					}
					if k.get(c.key) != c {
						t.Errorf("shared key %d: get found another job", s)
					}
					holders[s].Add(-1)
					k.remove(c)
				}
				if k.get(own.key) != own {
					t.Errorf("own key %q lost", own.key)
				}
				if i%2 == 0 {
					k.remove(own)
				}
			}
		})
	}
	wg.Wait()
	if _, live, _ := k.size(); live != workers*rounds/2 {
		t.Fatalf("%d live keys, want %d", live, workers*rounds/2)
	}
}
