package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
)

// imports are the packages a snippet may use without importing them, by name.
var imports = map[string]string{
	"backoff":      "github.com/backoff-go/backoff",
	"httpretry":    "github.com/backoff-go/backoff/httpretry",
	"otelbackoff":  "github.com/backoff-go/backoff/otelbackoff",
	"riverbackoff": "github.com/backoff-go/backoff/riverbackoff",
	"river":        "github.com/riverqueue/river",
	"riverpgxv5":   "github.com/riverqueue/river/riverdriver/riverpgxv5",
	"context":      "context",
	"errors":       "errors",
	"fmt":          "fmt",
	"http":         "net/http",
	"log":          "log",
	"os":           "os",
	"slog":         "log/slog",
	"syscall":      "syscall",
	"time":         "time",
	"url":          "net/url",
}

// kind is the kind of Go source a block is.
type kind int

const (
	statements kind = iota
	declarations
	file
)

// source is a block made into a Go file.
type source struct {
	text     string
	kind     kind
	problems []string // found before compiling, each with its position
}

// makeSource makes a block into a Go file, as one of three kinds:
//   - a whole file, when it starts with a package clause: as it is, in a
//     package of its own;
//   - declarations (functions, types, methods), when it parses as a file's
//     body: in a package of its own, beside the preamble;
//   - otherwise statements: the body of function name, which returns
//     error so that snippets may `return err`, in package snippet, beside
//     the preamble and the other blocks of statements.
//
// A //line directive maps every position back to the block's file and
// line. Statements are fragments that the reader goes on writing: a
// variable they declare and leave unused is not an error, except err. In
// every kind, an error assigned to err must be read by the next statement
// ([uncheckedErrs]). Imports are added for the packages of [imports] that
// the block names.
func makeSource(b block, name string) (source, error) {
	const pkg = "package snippet\n"
	directive := fmt.Sprintf("//line %s:%d\n", b.file, b.line)
	if isFile(b.code) {
		text := directive + b.code + "\n"
		f, fset, err := parse(text)
		if err != nil {
			return source{}, err
		}
		return source{text: text, kind: file, problems: uncheckedErrs(fset, f)}, nil
	}
	body := "func " + name + "() error {\n" + directive + b.code + "\n"
	f, fset, err := parse(pkg + body + "}\n")
	if err != nil {
		decls := directive + b.code + "\n"
		df, dfset, derr := parse(pkg + decls)
		if derr != nil {
			return source{}, err // the statements' error: most blocks are statements
		}
		return source{text: pkg + importDecl(df) + decls, kind: declarations, problems: uncheckedErrs(dfset, df)}, nil
	}
	fn := f.Decls[0].(*ast.FuncDecl).Body
	problems := uncheckedErrs(fset, f)
	body = withBlanks(fset, fn, body, len(pkg))
	if n := len(fn.List); n == 0 || !isReturn(fn.List[n-1]) {
		body += "\treturn nil\n"
	}
	return source{text: pkg + importDecl(f) + body + "}\n", kind: statements, problems: problems}, nil
}

func parse(src string) (*ast.File, *token.FileSet, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, parser.AllErrors)
	return f, fset, err
}

// isFile reports whether code starts with a package clause, after comments.
func isFile(code string) bool {
	for line := range strings.SplitSeq(code, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "//") {
			return strings.HasPrefix(line, "package ")
		}
	}
	return false
}

func isReturn(s ast.Stmt) bool {
	_, ok := s.(*ast.ReturnStmt)
	return ok
}

// importDecl imports the packages of imports that f names and does not
// declare.
func importDecl(f *ast.File) string {
	var paths []string
	for _, id := range f.Unresolved {
		if p, ok := imports[id.Name]; ok && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var sb strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&sb, "import %q\n", p)
	}
	return sb.String()
}

// withBlanks marks the variables that the statements of body declare as
// used (`; _ = v` after each declaration, on its line), all but err. body
// starts at offset in the file that fset holds.
func withBlanks(fset *token.FileSet, fn *ast.BlockStmt, body string, offset int) string {
	type insert struct {
		at   int
		text string
	}
	var ins []insert
	ast.Inspect(fn, func(n ast.Node) bool {
		for _, s := range stmtList(n) {
			var names []*ast.Ident
			switch s := s.(type) {
			case *ast.AssignStmt:
				if s.Tok == token.DEFINE {
					for _, e := range s.Lhs {
						if id, ok := e.(*ast.Ident); ok {
							names = append(names, id)
						}
					}
				}
			case *ast.DeclStmt:
				if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
					for _, spec := range g.Specs {
						names = append(names, spec.(*ast.ValueSpec).Names...)
					}
				}
			}
			var text strings.Builder
			for _, id := range names {
				if id.Name != "_" && id.Name != "err" {
					fmt.Fprintf(&text, "; _ = %s", id.Name)
				}
			}
			if text.Len() > 0 {
				ins = append(ins, insert{fset.File(s.End()).Offset(s.End()) - offset, text.String()})
			}
		}
		return true
	})
	slices.SortFunc(ins, func(a, b insert) int { return b.at - a.at })
	for _, i := range ins {
		body = body[:i.at] + i.text + body[i.at:]
	}
	return body
}

func stmtList(n ast.Node) []ast.Stmt {
	switch n := n.(type) {
	case *ast.BlockStmt:
		return n.List
	case *ast.CaseClause:
		return n.Body
	case *ast.CommClause:
		return n.Body
	}
	return nil
}

// uncheckedErrs finds the statements that assign to err when the next
// statement does not read it: an error a snippet ignores, which the
// compiler does not see once err has been read elsewhere.
func uncheckedErrs(fset *token.FileSet, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		list := stmtList(n)
		for i, s := range list {
			if assignsErr(s) && (i+1 == len(list) || !readsErr(list[i+1])) {
				out = append(out, fmt.Sprintf("%s: err is not checked", fset.Position(s.Pos())))
			}
		}
		return true
	})
	return out
}

func assignsErr(s ast.Stmt) bool {
	a, ok := s.(*ast.AssignStmt)
	return ok && slices.ContainsFunc(a.Lhs, isErr)
}

func readsErr(s ast.Stmt) bool {
	assigned := map[ast.Expr]bool{}
	read := false
	ast.Inspect(s, func(n ast.Node) bool {
		if a, ok := n.(*ast.AssignStmt); ok {
			for _, e := range a.Lhs {
				assigned[e] = true
			}
		}
		if e, ok := n.(ast.Expr); ok && isErr(e) && !assigned[e] {
			read = true
		}
		return !read
	})
	return read
}

func isErr(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "err"
}
