// Package doccheck keeps the Go code of the documentation compiling. It
// holds the declarations that snippets may use without declaring them
// (preamble.go; the README lists their names in its "Given" block), and
// tests:
//
//   - TestSnippetsCompile compiles every Go block with go build and go vet:
//     the README's blocks fenced as go (other fences are not Go), and the
//     code blocks (tab-indented, as gofmt writes them) of the package
//     comments and of the exported declarations' comments in the non-test
//     files of backoff, httpretry, otelbackoff and riverbackoff, except
//     the tables and JSON that notGo lists. Each failing block is reported
//     with its file and line; a block that ignores an err fails too.
//   - TestGivenListed checks the README's Given block against preamble.go.
//   - TestSemanticsCited checks that every citation of the README's
//     Semantics list, as (README, Semantics: "Panics"), names an item.
//
// It is a module of its own, beside the library, so that River and
// OpenTelemetry blocks compile without entering the library's
// dependencies. Run its tests with -count=1 after editing the docs: go
// test's cache does not see files outside this module change.
package doccheck
