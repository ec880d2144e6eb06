package testgen

import (
	"context"
	"strings"
	"testing"
)

// FuzzExtract checks that extraction never panics and that what it returns has CodeT's shape: a
// stripped assert with no stop sequence in it, each once, at most PerSample counted per sample.
func FuzzExtract(f *testing.F) {
	seeds := [][3]string{
		{"f", "f(1) == 2\nassert f(2) == 3\n", ""},
		{"f", "f(1) == 2\n# more\ndef g(): pass", "g(1) == 1"},
		{"f", "", "   "},
		{"f", "assert assert assert f(1)", "f((1) == 2"},
		{"f", "f(1) == 1\nassert f(1) == 1\nassert f(1) == 1\nassert f(2)\nassert f(3)\nassert f(4)\nassert f(5)", "f(1) == 1"},
		{"", "x == 1", "assert y == 2"},
		{" f\n", "f(\"\"\"\n\"\"\")\nassert f(1)\x1c", "\xff f(1)"},
		{"f", "f(1)\x00 == 1", strings.Repeat("(", 300)},
		{"has_close_elements", "has_close_elements([1.0, 2.0], 0.5) == False\nassert has_close_elements([], 1.0) == False\n\nprint('ok')", "\r\nimport os\r\nif True:\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	check := python(f)
	f.Fuzz(func(t *testing.T, entryPoint, a, b string) {
		raw := []string{a, b}
		got, err := Extract(context.Background(), check, entryPoint, raw)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		total := 0
		for _, g := range got {
			if seen[g.Code] || g.Frequency < 1 || !strings.HasPrefix(g.Code, "assert") || pyStrip(g.Code) != g.Code {
				t.Fatalf("bad assert %+v in %+v", g, got)
			}
			for _, s := range Stops() {
				if strings.Contains(g.Code, s) {
					t.Fatalf("stop %q left in %q", s, g.Code)
				}
			}
			seen[g.Code] = true
			total += int(g.Frequency)
		}
		if total > PerSample*len(raw) {
			t.Fatalf("%d asserts counted from %d samples", total, len(raw))
		}
	})
}
