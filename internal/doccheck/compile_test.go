package doccheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSnippetsCompile compiles every Go block of the README and of the
// package docs (see goBlocks and makeSource), each as a package of its
// own in a temporary directory of this module, with go build and then go
// vet, and reports each block that fails with its file and line.
func TestSnippetsCompile(t *testing.T) {
	blocks, stale, err := goBlocks()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("notGo entry %s matches no code block: remove it", s)
	}
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
		src, err := makeSource(b)
		if err != nil {
			problems[i] = []string{err.Error()}
			continue
		}
		problems[i] = src.problems
		pkg := filepath.Join(dir, "b"+strconv.Itoa(i))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(pkg, "snippet.go"), src.text)
		if src.withPre {
			write(t, filepath.Join(pkg, "preamble.go"), "package snippet\n"+string(preamble))
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(pkg))
	}
	// The compiler reports every error of a package (-e); vet reports only
	// the first type error, so it runs on the packages that compiled.
	goTool(t, dir, problems, append([]string{"build", "-gcflags=-e"}, pkgs...))
	var built []string
	for _, p := range pkgs {
		i, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "b"))
		if len(problems[i]) == 0 {
			built = append(built, p)
		}
	}
	if len(built) > 0 {
		goTool(t, dir, problems, append([]string{"vet"}, built...))
	}

	failed := 0
	for i, p := range problems {
		if len(p) > 0 {
			failed++
			t.Errorf("%s: the Go block does not compile:\n\t%s", blocks[i], strings.Join(p, "\n\t"))
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d Go blocks fail", failed, len(blocks))
	}
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goTool runs the go command and adds each line it prints to the problems
// of the block whose package the line names, or follows a "# package"
// header of; a line of no block's fails the test.
func goTool(t *testing.T, dir string, problems [][]string, args []string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exit := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exit) {
		t.Fatalf("go %s: %v", args[0], err)
	}
	pkgDir := regexp.MustCompile(`\S*` + regexp.QuoteMeta(filepath.Base(dir)) + `/b(\d+)/?`)
	current := -1
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		m := pkgDir.FindStringSubmatchIndex(line)
		if m != nil {
			current, _ = strconv.Atoi(line[m[2]:m[3]])
			line = line[:m[0]] + line[m[1]:]
		}
		switch {
		case strings.HasPrefix(line, "# "):
		case current < 0:
			t.Errorf("go %s: %s", args[0], line)
		case line != "":
			problems[current] = append(problems[current], line)
		}
	}
	if err != nil && current < 0 {
		t.Errorf("go %s failed and named no block: %v", args[0], err)
	}
}
