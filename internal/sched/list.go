package sched

// jobList is a list of jobs kept in blocks of a fixed size: adding to it
// never copies what it holds, however long a burst makes it, and once it
// is handled it keeps a few empty blocks for reuse and gives the rest
// back. The workers' hand-back list is one.
type jobList struct {
	blocks [][]Job // full blocks, then the one being filled
	spare  [][]Job // emptied blocks, at most listSpare
}

const (
	listBlock = 256 // jobs in a block: 4 KB
	// listSpare is small because the workers hand back to backShards
	// lists, each with one that the owner swaps with it: together they
	// keep 128 spare blocks, 512 KB.
	listSpare = 4
)

func (l *jobList) add(j Job) {
	n := len(l.blocks)
	if n == 0 || len(l.blocks[n-1]) == listBlock {
		var b []Job
		if k := len(l.spare); k > 0 {
			b, l.spare = l.spare[k-1], l.spare[:k-1]
		} else {
			b = make([]Job, 0, listBlock)
		}
		l.blocks = append(l.blocks, b)
		n++
	}
	l.blocks[n-1] = append(l.blocks[n-1], j)
}

// handled empties the list once its jobs have been handled.
func (l *jobList) handled() {
	for _, b := range l.blocks {
		clear(b)
		if len(l.spare) < listSpare {
			l.spare = append(l.spare, b[:0])
		}
	}
	l.blocks = spent(l.blocks)
}
