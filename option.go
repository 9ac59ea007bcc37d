package backoff

// Option configures a retry: which outcomes are retried, how long to wait,
// when to give up and whom to tell. Options are accepted by [Retry], [Wrap],
// [Attempts], [Submit], [SubmitTo] and [NewPolicy]. Strategies ([Expo],
// [Constant], ...) and jitters ([FullJitter], ...) are options themselves.
//
// Options are checked before anything runs: a bad value is an error that
// names it, returned by the call that received it.
type Option interface {
	apply(c *config)
}

// optionFunc adapts a function to [Option].
type optionFunc func(c *config)

func (f optionFunc) apply(c *config) { f(c) }

// setStrategy records the wait strategy; the last one given wins.
func (c *config) setStrategy(s Strategy) {
	// Checked here, not when the policy is built: a bad strategy that a
	// later one replaces is still a mistake to report.
	if v, ok := s.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			c.errs = append(c.errs, err)
		}
	}
	c.strategy = s
	c.runtime = nil
}

// setJitter records the jitter; the last one given wins.
func (c *config) setJitter(j Jitter) {
	c.jitter = j
	c.jitterSet = true
}
