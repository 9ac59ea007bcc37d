package backoff

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Budget caps retries at a share of recent first attempts, so that when a
// dependency goes down its callers do not multiply its load: without a
// budget, every failing call turns into MaxTries calls. Over the last
// Window, retries may be at most Ratio × first attempts + MinPerSecond ×
// Window (Finagle's RetryBudget; gRPC's retry throttling is the same idea
// as a token bucket). When traffic is healthy, few retries happen and the
// budget never binds; in an outage, retries fall to the Ratio.
//
// One Budget may be shared by any number of loops, Wrap functions and
// schedulers: give it with [WithBudget]. A retry that finds the budget
// empty gives up with [ReasonBudget] or waits for room, as WithBudget
// says. A Budget is safe for concurrent use; each first attempt and retry
// takes one short lock.
type Budget struct {
	ratio   float64
	reserve float64 // MinPerSecond × Window
	slot    time.Duration
	ts      timeSource
	epoch   time.Time

	mu      sync.Mutex
	cur     int64 // the newest slot's number, counted from epoch
	firsts  [budgetSlots]uint64
	retries [budgetSlots]uint64
	nFirsts uint64 // sums over the window
	nRetry  uint64
	denied  uint64
}

// budgetSlots is how finely the window slides: counts leave the window a
// slot at a time, a tenth of the window.
const budgetSlots = 10

// BudgetConfig sets up a [Budget].
type BudgetConfig struct {
	// Ratio is how many retries each first attempt earns: 0.2 lets
	// retries add at most 20 % to the load.
	Ratio float64
	// MinPerSecond is a rate of retries allowed whatever the traffic, so
	// that a quiet caller can still retry.
	MinPerSecond float64
	// Window is how far back the budget counts; 0 means 10 seconds.
	Window time.Duration
	// Clock is the budget's time; nil means the real clock.
	Clock clock.Clock
}

// NewBudget returns an empty budget. Finagle's defaults are
// BudgetConfig{Ratio: 0.2, MinPerSecond: 10}. A bad field is an error
// that names it.
func NewBudget(c BudgetConfig) (*Budget, error) {
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(c.Ratio):
		return nil, fmt.Errorf("backoff: BudgetConfig.Ratio must be a finite number >= 0, got %v", c.Ratio)
	case bad(c.MinPerSecond):
		return nil, fmt.Errorf("backoff: BudgetConfig.MinPerSecond must be a finite number >= 0, got %v", c.MinPerSecond)
	case c.Ratio == 0 && c.MinPerSecond == 0:
		return nil, fmt.Errorf("backoff: BudgetConfig.Ratio and BudgetConfig.MinPerSecond are both 0: no retry could ever run")
	case c.Window < 0:
		return nil, fmt.Errorf("backoff: BudgetConfig.Window must not be negative, got %v", c.Window)
	}
	if c.Window == 0 {
		c.Window = 10 * time.Second
	}
	if c.Window < budgetSlots {
		return nil, fmt.Errorf("backoff: BudgetConfig.Window must be at least %dns, got %v", budgetSlots, c.Window)
	}
	b := &Budget{
		ratio:   c.Ratio,
		reserve: c.MinPerSecond * c.Window.Seconds(),
		slot:    c.Window / budgetSlots,
		ts:      newTimeSource(c.Clock),
	}
	b.epoch = b.ts.Now()
	return b, nil
}

// advance moves the window to now, dropping the slots that fell out of
// it. b.mu is held.
func (b *Budget) advance() {
	now := int64(b.ts.Now().Sub(b.epoch) / b.slot)
	for n := 0; b.cur < now && n < budgetSlots; n++ {
		b.cur++
		i := b.cur % budgetSlots
		b.nFirsts -= b.firsts[i]
		b.nRetry -= b.retries[i]
		b.firsts[i], b.retries[i] = 0, 0
	}
	b.cur = max(b.cur, now)
}

// first records a first attempt, which earns retries.
func (b *Budget) first() {
	b.mu.Lock()
	b.advance()
	b.firsts[b.cur%budgetSlots]++
	b.nFirsts++
	b.mu.Unlock()
}

// spend takes room for one retry, and reports whether there was any.
func (b *Budget) spend() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if float64(b.nRetry+1) > b.ratio*float64(b.nFirsts)+b.reserve {
		b.denied++
		return false
	}
	b.retries[b.cur%budgetSlots]++
	b.nRetry++
	return true
}

// retryIn is how long until the window next moves: the soonest the budget
// may have room again without new first attempts.
func (b *Budget) retryIn() time.Duration {
	since := b.ts.Now().Sub(b.epoch)
	return b.slot - since%b.slot
}

// BudgetStats is a snapshot of a [Budget].
type BudgetStats struct {
	FirstAttempts uint64 // in the window
	Retries       uint64 // in the window
	// Room is how many more retries the budget would allow now.
	Room uint64
	// Denied counts retries refused since the budget was made; a retry
	// that waits for room is counted each time it asks.
	Denied uint64
}

// Stats returns the budget's counts. It takes the budget's lock briefly.
// A zero or nil Budget reports zeros.
func (b *Budget) Stats() BudgetStats {
	if b == nil || b.slot == 0 {
		return BudgetStats{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	st := BudgetStats{FirstAttempts: b.nFirsts, Retries: b.nRetry, Denied: b.denied}
	if limit := math.Floor(b.ratio*float64(b.nFirsts) + b.reserve); limit > float64(b.nRetry) {
		st.Room = uint64(min(limit-float64(b.nRetry), math.MaxUint64/2))
	}
	return st
}

// WhenEmpty says what a retry does when the budget has no room for it.
type WhenEmpty uint8

const (
	// GiveUpWhenEmpty ends the job at once with ReasonBudget: in an
	// outage, callers learn it fast.
	GiveUpWhenEmpty WhenEmpty = iota
	// WaitWhenEmpty keeps the retry waiting until the budget has room,
	// asking again each time the window moves (a tenth of it). The wait
	// counts towards MaxTime; a job whose MaxTime would pass while it
	// waits gives up with ReasonBudget. Suits background work, such as
	// pollers, that must not be lost.
	WaitWhenEmpty
)

type budgetOption struct {
	b    *Budget
	wait bool
	bad  error
}

func (o budgetOption) apply(c *config) {
	if o.bad != nil {
		c.errs = append(c.errs, o.bad)
	}
	c.budget = budgetUse{o.b, o.wait}
}

func (o budgetOption) applySched(c *schedConfig) {
	if o.bad != nil {
		c.errs = append(c.errs, o.bad)
	}
	c.budget = budgetUse{o.b, o.wait}
}

// WithBudget makes every retry ask b for room first; first attempts earn
// room. Given to a scheduler, it is the budget of every job that has none
// of its own. whenEmpty says whether a retry that finds no room gives up
// or waits.
func WithBudget(b *Budget, whenEmpty WhenEmpty) SharedOption {
	o := budgetOption{b: b, wait: whenEmpty == WaitWhenEmpty}
	switch {
	case b == nil:
		o.bad = fmt.Errorf("backoff: WithBudget: budget is nil")
	case b.slot == 0:
		o.bad = fmt.Errorf("backoff: WithBudget: the Budget was not made by NewBudget")
	case whenEmpty > WaitWhenEmpty:
		o.bad = fmt.Errorf("backoff: WithBudget: whenEmpty must be GiveUpWhenEmpty or WaitWhenEmpty, got %d", whenEmpty)
	}
	return o
}

// budgetUse is a budget as a job uses it.
type budgetUse struct {
	b    *Budget
	wait bool
}

// charge asks for a retry that the decision allowed. giveUp means the job ends
// with ReasonBudget; owed means the retry must ask again, with reask,
// before it runs.
func (u budgetUse) charge() (giveUp, owed bool) {
	if u.b == nil || u.b.spend() {
		return false, false
	}
	return !u.wait, u.wait
}

// reask asks again for an owed retry whose wait is over, elapsed into a
// job with config c. It returns 0 when the retry may run now, else how
// long to wait before asking again; giveUp when that wait would pass
// MaxTime.
func (u budgetUse) reask(c *config, elapsed time.Duration) (wait time.Duration, giveUp bool) {
	if u.b.spend() {
		return 0, false
	}
	wait = u.b.retryIn()
	return wait, c.hasMaxTime && elapsed+wait > c.maxTime
}
