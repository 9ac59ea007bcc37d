// Package doccheck holds the declarations that the Go code in the
// documentation may use without declaring them (preamble.go), and a test,
// TestSnippetsCompile, that compiles every Go block of the README and of the
// package docs against them, so that no snippet rots when the API changes.
//
// It is a module of its own, beside the library: River and OpenTelemetry
// blocks compile here without entering the library's dependencies.
package doccheck
