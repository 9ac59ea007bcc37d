module github.com/backoff-go/backoff

go 1.25.0

require (
	github.com/benbjohnson/clock v1.3.5
	go.uber.org/goleak v1.3.0
	golang.org/x/time v0.15.0
)
