package doccheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSnippetsCompile compiles every Go block of the README and of the
// package docs (see goBlocks and makeSource), and reports each block that
// fails with its file and line.
func TestSnippetsCompile(t *testing.T) {
	blocks, stale, err := goBlocks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("notGo entry %s matches no code block: remove it", s)
	}
	failed := 0
	for i, p := range compile(t, blocks) {
		if len(p) > 0 {
			failed++
			t.Errorf("%s: the Go block does not compile:\n\t%s", blocks[i], strings.Join(p, "\n\t"))
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d Go blocks fail", failed, len(blocks))
	}
}

// compile compiles blocks in a temporary directory of this module, with go
// build and, once that succeeds, go vet, and returns each block's
// problems. The blocks of statements share one package, so that the
// compiler runs once for most blocks.
func compile(t *testing.T, blocks []block) [][]string {
	t.Helper()
	pre, err := os.ReadFile("preamble.go")
	if err != nil {
		t.Fatal(err)
	}
	preamble, ok := bytes.CutPrefix(pre, []byte("package doccheck\n"))
	if !ok {
		t.Fatal("preamble.go does not start with its package clause")
	}
	// Inside the module, so that its go.mod and go.sum resolve the imports;
	// "_" keeps the directory out of ./... patterns.
	dir, err := os.MkdirTemp(".", "_snippets")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	problems := make([][]string, len(blocks))
	var pkgs []string
	for i, b := range blocks {
		name := "b" + strconv.Itoa(i)
		src, err := makeSource(b, name)
		if err != nil {
			problems[i] = []string{err.Error()}
			continue
		}
		problems[i] = src.problems
		pkg := filepath.Join(dir, "statements")
		if src.kind != statements {
			pkg = filepath.Join(dir, name)
		}
		if !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
			if err := os.Mkdir(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			if src.kind != file {
				write(t, filepath.Join(pkg, "preamble.go"), "package snippet\n"+string(preamble))
			}
		}
		write(t, filepath.Join(pkg, name+".go"), src.text)
	}
	if len(pkgs) == 0 {
		return problems
	}
	for i, p := range pkgs {
		pkgs[i] = "./" + filepath.ToSlash(p)
	}
	// The compiler reports every error (-e); vet only the first type error
	// of a package, so it runs once everything compiles.
	if goTool(t, blocks, problems, append([]string{"build", "-gcflags=-e"}, pkgs...)) {
		goTool(t, blocks, problems, append([]string{"vet"}, pkgs...))
	}
	return problems
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	// tempDir matches the path of a file in the temporary directory, up to
	// the file's name.
	tempDir = regexp.MustCompile(`\S*_snippets\d+/[^/\s]+/`)
	// position matches a message's position, which a //line directive has
	// made the block's file and line unless the message is about the code
	// around the block.
	position  = regexp.MustCompile(`^(?:vet: )?(\S+?):(\d+)(?::\d+)?: `)
	generated = regexp.MustCompile(`^b(\d+)\.go$`)
)

// goTool runs the go command, adds each message it prints to the problems
// of the block at the message's position, and reports whether it
// succeeded. A message at no block's position fails the test.
func goTool(t *testing.T, blocks []block, problems [][]string, args []string) bool {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exit := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exit) {
		t.Fatalf("go %s: %v", args[0], err)
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		line = tempDir.ReplaceAllString(line, "")
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		if i := blockAt(blocks, line); i >= 0 {
			problems[i] = append(problems[i], line)
		} else {
			t.Errorf("go %s: %s", args[0], line)
		}
	}
	return err == nil
}

// blockAt returns the index of the block at the position of a message,
// or -1.
func blockAt(blocks []block, msg string) int {
	m := position.FindStringSubmatch(msg)
	if m == nil {
		return -1
	}
	if g := generated.FindStringSubmatch(m[1]); g != nil {
		i, _ := strconv.Atoi(g[1])
		return i
	}
	line, _ := strconv.Atoi(m[2])
	for i, b := range blocks {
		if b.file == m[1] && line >= b.line && line <= b.line+strings.Count(b.code, "\n") {
			return i
		}
	}
	return -1
}
