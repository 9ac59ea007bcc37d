package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// TestGivenListed checks that the README's "Given" block lists exactly the
// names the preamble declares.
func TestGivenListed(t *testing.T) {
	blocks, err := markdownBlocks("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, b := range blocks {
		text, ok := strings.CutPrefix(b.code, "// Given:")
		if !ok {
			continue
		}
		text = strings.ReplaceAll(text, "\n//", "")
		text, _, _ = strings.Cut(text, "(")
		for n := range strings.SplitSeq(text, ",") {
			listed = append(listed, strings.TrimSpace(n))
		}
	}
	if listed == nil {
		t.Fatal(`README.md has no Go block starting "// Given:"`)
	}

	f, err := parser.ParseFile(token.NewFileSet(), "preamble.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok {
			for _, s := range g.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					declared = append(declared, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	slices.Sort(listed)
	slices.Sort(declared)
	if !slices.Equal(listed, declared) {
		t.Errorf("README's Given block lists %v; preamble.go declares %v", listed, declared)
	}
}
