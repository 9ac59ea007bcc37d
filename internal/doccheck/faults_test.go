package doccheck

import (
	"strings"
	"testing"
)

// TestCompileFindsFaults feeds compile blocks with known faults, and good
// blocks of every kind, and checks that it reports each fault, at its
// block, and nothing else.
func TestCompileFindsFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		blocks []block
		want   []string // per block: a part of its one problem, or "" for none
	}{
		{
			name: "compiler and own checks",
			blocks: []block{
				{"a.md", 10, "resp, err := getURL(ctx)\nif err != nil {\n\treturn err\n}\ndefer resp.Body.Close()"},
				{"a.md", 15, "st, err := checkJob(ctx, id) // st left for the reader\nif err != nil {\n\treturn err\n}"},
				{"a.md", 20, "st, err := checkJob(ctx, op)\nif err != nil {\n\treturn err\n}"},
				{"a.md", 30, "s, err := backoff.NewScheduler()\ndefer s.Close()\nif err != nil {\n\treturn err\n}"},
				{"a.md", 40, "policy, err := backoff.NewPolicy[Status](backoff.MaxTries(3)\n"},
				{"b.go", 5, "type poller struct{ every time.Duration }\n\nfunc (p poller) wait() { time.Sleep(p.every) }"},
				{"b.go", 9, "package main\n\nfunc main() {}"},
				{"b.go", 12, "package main\n\nfunc main() { x := 1 }"},
			},
			want: []string{"", "", "a.md:20: undefined: op", "a.md:30: err is not checked", "a.md:40: missing ','", "", "", "b.go:14: declared and not used: x"},
		},
		{
			name: "vet",
			blocks: []block{
				{"a.md", 50, `log.Printf("job %d", id)`},
				{"a.md", 60, `log.Printf("job %s", id)`},
			},
			want: []string{"a.md:50: log.Printf format %d has arg id of wrong type string", ""},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i, got := range compile(t, c.blocks) {
				want := c.want[i]
				if len(got) != min(len(want), 1) || want != "" && !strings.Contains(got[0], want) {
					t.Errorf("%s: problems %q, want one with %q", c.blocks[i], got, want)
				}
			}
		})
	}
}
