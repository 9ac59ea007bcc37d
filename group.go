package backoff

// Concurrency groups: a job may name a group (a tenant, a dependency) with
// the Group option, and the scheduler may cap how many attempts of a group
// run at once, so that one group's burst cannot take every worker. The
// owner goroutine enforces the cap when a job falls due: a job over its
// group's cap is held, in the order it fell due, until an attempt of its
// group returns.

// Group puts a scheduled job in the named concurrency group, which
// GroupLimit and GroupLimitFor may cap and GroupRate, GroupRateFor and
// SetGroupRate may hold to a rate. Without a limit or a rate for it, the
// name has no effect. It may be part of a Policy, or given to Submit and
// SubmitTo beside one (without copying it). Retry, Wrap and Attempts
// refuse it, and ignore a Policy's.
func Group(name string) Option { return groupOption(name) }

// GroupLimit caps every named group at n attempts at once (queued for a
// worker or running), unless GroupLimitFor sets its own cap. Jobs without
// a Group are not limited. A job held by its group's cap waits in
// Stats.Held; it still gives up at once when it is cancelled or its
// context ends. Holding costs the owner a map lookup per due attempt of a
// grouped job; a held job that is stopped leaves its group's queue at
// once, at a constant cost.
func GroupLimit(n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if n < 1 {
			c.fail("GroupLimit must be >= 1, got %d", n)
		}
		c.groupLimit = n
	})
}

// GroupLimitFor caps the group called name at n attempts at once,
// overriding GroupLimit for it.
func GroupLimitFor(name string, n int) SchedulerOption {
	return schedOptionFunc(func(c *schedConfig) {
		if name == "" {
			c.fail("GroupLimitFor: name is empty")
		}
		if n < 1 {
			c.fail("GroupLimitFor(%q) must be >= 1, got %d", name, n)
		}
		if c.groupLimits == nil {
			c.groupLimits = make(map[string]int)
		}
		c.groupLimits[name] = n
	})
}
