//go:build oldapi

package main

import (
	"time"

	"github.com/backoff-go/backoff"
)

// An earlier library, built for -baseline: a first attempt at an instant
// is a delay computed at submission, as users of that library wrote it,
// and the before-* modes never subscribe.

func startAt(t time.Time) backoff.Option { return backoff.InitialDelay(max(time.Until(t), 0)) }

func subscribe() backoff.Option { panic("bench: the baseline library has no Subscribe") }
