package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// semanticsItem matches an item of the README's Semantics list: its
	// number and its bold name.
	semanticsItem = regexp.MustCompile(`(?m)^\d+\. \*\*(.+?)\.\*\*`)
	// citation matches a citation of one, its comment markers removed
	// (written with \x22 for the quotes, so that it does not match itself).
	citation = regexp.MustCompile(`Semantics: \x22([^\x22]+)\x22`)
	// commentBreak is a line break inside a comment.
	commentBreak = regexp.MustCompile(`\n\s*(//)?\s*`)
)

// TestSemanticsCited checks that every citation of the README's Semantics
// list, in the .go and .md files of the repository, names an item of it.
func TestSemanticsCited(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "\n## Semantics\n")
	if !ok {
		t.Fatal("README.md has no Semantics section")
	}
	list, _, _ = strings.Cut(list, "\n#")
	var names []string
	for _, m := range semanticsItem.FindAllStringSubmatch(list, -1) {
		names = append(names, strings.Trim(m[1], "`"))
	}
	if len(names) == 0 {
		t.Fatal("the README's Semantics list has no numbered, named items")
	}
	cited := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.ContainsAny(d.Name()[:1], "._") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range citation.FindAllStringSubmatch(commentBreak.ReplaceAllString(string(text), " "), -1) {
			cited++
			if !slices.Contains(names, m[1]) {
				t.Errorf("%s cites Semantics %q, which the README does not name (it names %q)", path, m[1], names)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Error("found no citation of the README's Semantics: is the pattern right?")
	}
}
