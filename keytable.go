package backoff

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

// keyTable holds the live jobs that have a key, by key. Submit adds a job,
// the job's end removes it (before the end is published, so that whoever
// sees the end may submit the key again), Cancel and Trigger look it up.
//
// It is split into keyShards shards, each under its own lock, so that
// submitters and Cancel callers rarely meet and a shard that grows holds
// up only the keys hashed to it. A shard is an open-addressing table of
// pointers to the jobs' contexts, which hold the keys: 8 bytes a slot and
// 4 bytes of hash beside it, with no second copy of the key and nothing for
// the garbage collector to scan but the pointers. The hash bits kept are
// the ones that place a key, so a rebuild moves every job without hashing
// its key again or reading its context, which a million pending jobs have
// long pushed out of the cache. The shards are made by the first add, so
// a scheduler whose jobs have no key pays one pointer.
type keyTable struct {
	set atomic.Pointer[keyShards]
}

// keyShards are a key table's shards and the seed of its hash.
type keyShards struct {
	seed  maphash.Seed
	shard [keyShardCount]keyShard
}

// keyShardCount is how many shards a key table has: a power of two.
const keyShardCount = 128

// keyShard is one shard of a keyTable. Its lock guards every other field.
//
// Collisions are resolved by linear probing. A removed job's slot becomes
// a tombstone, which lookups pass over, unless the slot after it is empty:
// then it and the tombstones before it become empty. Tombstones count as
// used: when used slots would pass 7/8 of the table, it is rebuilt without
// them, at a size that puts its live keys at 7/12, which is also how it
// grows. A shard whose live keys fall under 1/8 of its slots is rebuilt
// smaller. So add and remove cycles over a steady set of keys keep the
// shard's size, whatever their number.
type keyShard struct {
	mu    sync.Mutex
	slots []*jobCtl      // the job in each slot; nil where tags says empty or gone
	tags  []uint32       // per slot: tagEmpty, tagGone, or the key's probe bits
	live  int            // slots holding a job
	gone  int            // tombstones
	_     [128 - 72]byte // a shard to itself on the cache lines it uses
}

// Slot tags.
const (
	tagEmpty = 0
	tagGone  = 1
	tagLow   = 2 // the least tag of a slot with a job
)

// minKeySlots is the least size of a shard's table.
const minKeySlots = 8

// keyHash is a key's hash and the tag its slot gets: the hash's bits 0 to
// 31, which also choose where its probe starts. The shard is chosen by
// the hash's top bits, so that keys that share a shard still differ in
// their tags.
type keyHash struct {
	h   uint64
	tag uint32
}

func (ss *keyShards) hash(key string) keyHash {
	h := maphash.String(ss.seed, key)
	t := uint32(h)
	if t < tagLow {
		t += tagLow
	}
	return keyHash{h, t}
}

func (ss *keyShards) of(kh keyHash) *keyShard {
	return &ss.shard[kh.h>>(64-bits.TrailingZeros(keyShardCount))]
}

// shards returns the table's shards, made by the first caller.
func (k *keyTable) shards() *keyShards {
	if ss := k.set.Load(); ss != nil {
		return ss
	}
	k.set.CompareAndSwap(nil, &keyShards{seed: maphash.MakeSeed()})
	return k.set.Load()
}

// add puts c in the table under c.key, or returns an error wrapping
// ErrDuplicateKey if a live job has that key.
func (k *keyTable) add(c *jobCtl) error {
	ss := k.shards()
	kh := ss.hash(c.key)
	s := ss.of(kh)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(c.key, kh) >= 0 {
		return fmt.Errorf("%w: %q", ErrDuplicateKey, c.key)
	}
	if (s.live+s.gone+1)*8 > len(s.slots)*7 {
		s.rebuild(s.live + 1)
	}
	i := s.free(kh.tag)
	if s.tags[i] == tagGone {
		s.gone--
	}
	s.slots[i], s.tags[i] = c, kh.tag
	s.live++
	return nil
}

// remove takes c out of the table if it is there: a key that has passed
// to another job stays.
func (k *keyTable) remove(c *jobCtl) {
	ss := k.set.Load()
	if ss == nil {
		return
	}
	kh := ss.hash(c.key)
	s := ss.of(kh)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.slots)
	if n == 0 {
		return
	}
	for i := s.start(kh.tag); s.tags[i] != tagEmpty; i = s.next(i) {
		if s.slots[i] != c {
			continue
		}
		s.slots[i], s.tags[i] = nil, tagGone
		s.live--
		s.gone++
		// A tombstone before an empty slot ends no probe that passes it:
		// empty it, and the tombstones before it.
		for s.tags[s.next(i)] == tagEmpty && s.tags[i] == tagGone {
			s.tags[i] = tagEmpty
			s.gone--
			i = (i + n - 1) % n
		}
		if s.live*8 < n && n > minKeySlots {
			s.rebuild(s.live)
		}
		return
	}
}

// get returns the context of the live job with key, or nil.
func (k *keyTable) get(key string) *jobCtl {
	ss := k.set.Load()
	if ss == nil {
		return nil
	}
	kh := ss.hash(key)
	s := ss.of(kh)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(key, kh); i >= 0 {
		return s.slots[i]
	}
	return nil
}

// start is the slot where the probe for a key with tag t begins: t
// scaled to the table's size.
func (s *keyShard) start(t uint32) int {
	return int(uint64(t) * uint64(len(s.slots)) >> 32)
}

func (s *keyShard) next(i int) int {
	if i++; i == len(s.slots) {
		return 0
	}
	return i
}

// find returns the slot of key, or -1; s.mu is held.
func (s *keyShard) find(key string, kh keyHash) int {
	if len(s.slots) == 0 {
		return -1
	}
	for i := s.start(kh.tag); s.tags[i] != tagEmpty; i = s.next(i) {
		if s.tags[i] == kh.tag && s.slots[i].key == key {
			return i
		}
	}
	return -1
}

// free returns the first slot on the probe for tag t that holds no job;
// s.mu is held, and the table has one.
func (s *keyShard) free(t uint32) int {
	i := s.start(t)
	for s.tags[i] >= tagLow {
		i = s.next(i)
	}
	return i
}

// rebuild moves the live jobs into a new table of a size that puts live
// keys at 7/12 of it, leaving no tombstones; s.mu is held.
func (s *keyShard) rebuild(live int) {
	old, oldTags := s.slots, s.tags
	n := max(minKeySlots, (live*12+6)/7)
	s.slots, s.tags, s.gone = make([]*jobCtl, n), make([]uint32, n), 0
	for j, c := range old {
		if c != nil {
			i := s.free(oldTags[j])
			s.slots[i], s.tags[i] = c, oldTags[j]
		}
	}
}
