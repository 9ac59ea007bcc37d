//go:build !oldapi

package main

import (
	"time"

	"github.com/backoff-go/backoff"
)

// The options this program uses that earlier libraries lack. A -baseline
// commit without them is built with -tags oldapi (api_old.go).

func startAt(t time.Time) backoff.Option { return backoff.StartAt(t) }

func subscribe() backoff.Option { return backoff.Subscribe() }
