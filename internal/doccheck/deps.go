package doccheck

// The packages snippets use that preamble.go does not import: imported
// here so that go mod tidy keeps them required, since it cannot see the
// snippets' imports (snippet_test.go's imports lists them all).
import (
	_ "github.com/backoff-go/backoff/httpretry"
	_ "github.com/backoff-go/backoff/otelbackoff"
	_ "github.com/backoff-go/backoff/riverbackoff"
	_ "github.com/riverqueue/river/riverdriver/riverpgxv5"
)
