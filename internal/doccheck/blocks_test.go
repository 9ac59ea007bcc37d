package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// root is the repository's root, from this module's directory.
const root = "../.."

// block is one code block of the documentation.
type block struct {
	file string // slash-separated, from the repository's root
	line int    // of the block's first line of code
	code string
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// markdownBlocks returns the ```go fenced blocks of a Markdown file, fences
// indented in list items included. Blocks that are not Go (shell, output,
// diagrams) are fenced otherwise and are not returned.
func markdownBlocks(file string) ([]block, error) {
	text, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(text), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " "))]
		b := block{file: file, line: i + 2}
		var code []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s: the ```go block is not closed", b)
		}
		b.code = strings.Join(code, "\n")
		out = append(out, b)
	}
	return out, nil
}

// docDirs are the packages whose doc comments are checked.
var docDirs = []string{".", "httpretry", "otelbackoff", "riverbackoff"}

// docBlocks returns the code blocks of the doc comments that go doc shows:
// the package comment and the comments of exported top-level declarations
// (and of methods of exported types) in the packages' non-test files. In a
// doc comment as gofmt writes it, a code block is a run of lines indented
// by a tab; lists and text are not.
func docBlocks() ([]block, error) {
	var out []block
	for _, dir := range docDirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			rel := path.Join(dir, filepath.Base(name))
			for _, cg := range docComments(f) {
				out = append(out, commentBlocks(fset, rel, cg)...)
			}
		}
	}
	return out, nil
}

func docComments(f *ast.File) []*ast.CommentGroup {
	groups := []*ast.CommentGroup{f.Doc}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && (d.Recv == nil || exportedType(d.Recv.List[0].Type)) {
				groups = append(groups, d.Doc)
			}
		case *ast.GenDecl:
			exported := false
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						exported = true
						groups = append(groups, s.Doc)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							exported = true
							groups = append(groups, s.Doc)
							break
						}
					}
				}
			}
			if exported {
				groups = append(groups, d.Doc)
			}
		}
	}
	return groups
}

// exportedType reports whether a receiver's type, T, *T or either with
// type parameters, is exported.
func exportedType(e ast.Expr) bool {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.IsExported()
		default:
			return false
		}
	}
}

func commentBlocks(fset *token.FileSet, file string, cg *ast.CommentGroup) []block {
	if cg == nil {
		return nil
	}
	var out []block
	var cur *block
	blanks := 0 // blank comment lines since the last line of code
	for _, c := range cg.List {
		text, ok := strings.CutPrefix(c.Text, "//")
		if !ok { // a /* */ comment: gofmt never writes code blocks in one
			continue
		}
		switch {
		case strings.HasPrefix(text, "\t"):
			if cur == nil {
				out = append(out, block{file: file, line: fset.Position(c.Slash).Line})
				cur = &out[len(out)-1]
			} else {
				cur.code += strings.Repeat("\n", blanks+1)
			}
			cur.code += text[1:]
			blanks = 0
		case strings.TrimSpace(text) == "" && cur != nil:
			blanks++
		default:
			cur, blanks = nil, 0
		}
	}
	return out
}

// notGo names the doc-comment code blocks that are not Go, by file and the
// start of their first line: tables and a JSON record. Every entry must
// match a block, so that none outlives its block.
var notGo = []struct{ file, start string }{
	{"otelbackoff/doc.go", "name "}, // the two metric tables
	{"riverbackoff/record.go", `{"tries": `},
}

// goBlocks returns every Go block of the documentation, and the notGo
// entries that match no block.
func goBlocks() (blocks []block, stale []string, err error) {
	md, err := markdownBlocks("README.md")
	if err != nil {
		return nil, nil, err
	}
	docs, err := docBlocks()
	if err != nil {
		return nil, nil, err
	}
	used := make([]bool, len(notGo))
	for _, b := range docs {
		skip := false
		for i, n := range notGo {
			if b.file == n.file && strings.HasPrefix(b.code, n.start) {
				used[i], skip = true, true
			}
		}
		if !skip {
			md = append(md, b)
		}
	}
	for i, u := range used {
		if !u {
			stale = append(stale, fmt.Sprintf("%s %q", notGo[i].file, notGo[i].start))
		}
	}
	return md, stale, nil
}
