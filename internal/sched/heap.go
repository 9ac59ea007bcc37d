package sched

// The timer structure: every waiting job is an entry in the timeline of
// its context group (the jobs that share a context), and the groups sit in
// one heap ordered by their earliest entry. A context that ends takes its
// whole group out at once, however many other jobs wait. Entries are not
// removed when a job leaves early (Trigger, Cancel): such an entry goes
// stale, is skipped when it comes up, and compact drops stale entries once
// they are half the timeline.

// entry is a job due at at (nanoseconds since the scheduler's epoch).
type entry struct {
	at int64
	j  Job
}

type entryHeap []entry

func (h *entryHeap) push(e entry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].at <= e.at {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = e
}

func (h *entryHeap) pop() entry {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s[n] = entry{}
	s = s[:n]
	*h = s
	if n > 0 {
		s.down(0, last)
	}
	return top
}

// down places e at i and sifts it towards the leaves.
func (h entryHeap) down(i int, e entry) {
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].at < h[c].at {
			c = r
		}
		if e.at <= h[c].at {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = e
}

// heapify restores the heap order of any slice.
func (h entryHeap) heapify() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i, h[i])
	}
}

// groupHeap orders groups by their earliest entry; each group knows its
// index so that it can be fixed after its own heap changes.
type groupHeap []*ctxGroup

func (h groupHeap) less(i, j int) bool { return h[i].tl.first() < h[j].tl.first() }

func (h groupHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h groupHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h groupHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

// fix puts g where its earliest entry belongs: in, out of or within the heap.
func (h *groupHeap) fix(g *ctxGroup) {
	switch {
	case g.tl.len() == 0 && g.idx >= 0:
		h.remove(g)
	case g.tl.len() == 0:
	case g.idx < 0:
		g.idx = len(*h)
		*h = append(*h, g)
		h.up(g.idx)
	default:
		h.down(g.idx)
		h.up(g.idx)
	}
}

func (h *groupHeap) remove(g *ctxGroup) {
	s := *h
	i, n := g.idx, len(s)-1
	if i != n {
		s.swap(i, n)
	}
	s[n] = nil
	*h = s[:n]
	g.idx = -1
	if i != n {
		h.down(i)
		h.up(i)
	}
}
