package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The -baseline flag measures the library as it was at an earlier commit,
// beside the working tree's and in the same run: the modes "before-fanin"
// and "before-handle" run this program built against a copy of the
// library at that commit (from git archive), through a replace directive
// in a copy of this module. Nothing of the old library is kept.

// baselineModes are the modes that run the baseline binary, and the
// working tree's mode each stands for.
var baselineModes = map[string]string{"before-fanin": "ours-fanin", "before-handle": "ours-handle"}

// buildBaseline builds this program against the library at rev and
// returns the binary; cleanup removes every file it made.
func buildBaseline(rev string) (exe string, cleanup func(), err error) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", nil, fmt.Errorf("-baseline needs a git checkout: %w", err)
	}
	root := strings.TrimSpace(string(top))
	dir, err := os.MkdirTemp("", "backoff-baseline-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	lib, mod := filepath.Join(dir, "lib"), filepath.Join(dir, "bench")
	for _, d := range []string{lib, mod} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", nil, err
		}
	}
	archive := exec.Command("bash", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "archive", root, rev, lib)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("git archive %s: %w: %s", rev, err, out)
	}
	files, err := filepath.Glob(filepath.Join(root, "bench", "*.go"))
	if err != nil {
		return "", nil, err
	}
	for _, f := range append(files, filepath.Join(root, "bench", "go.mod"), filepath.Join(root, "bench", "go.sum")) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(mod, filepath.Base(f)), b, 0o644); err != nil {
			return "", nil, err
		}
	}
	exe = filepath.Join(dir, "bench-baseline")
	build := []string{"build", "-mod=mod", "-o", exe}
	if !hasStartAt(lib) {
		build = append(build, "-tags", "oldapi")
	}
	for _, args := range [][]string{
		{"mod", "edit", "-replace", "github.com/backoff-go/backoff=../lib"},
		append(build, "."),
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = mod
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return exe, cleanup, nil
}

// hasStartAt reports whether the library in dir has StartAt, the newest
// option this program uses (api.go).
func hasStartAt(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "\nfunc StartAt(") {
			return true
		}
	}
	return false
}

// loadAverage returns the first field of /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
