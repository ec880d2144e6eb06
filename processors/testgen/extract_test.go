package testgen

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

func python(t testing.TB) Python {
	t.Helper()
	if _, err := os.Stat(DefaultPython); err != nil {
		t.Skipf("no %s: %v", DefaultPython, err)
	}
	return Python{}
}

func extract(t *testing.T, entryPoint string, raw ...string) []schemas.GeneratedAssert {
	t.Helper()
	got, err := Extract(context.Background(), python(t), entryPoint, raw)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func codes(as []schemas.GeneratedAssert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Code
	}
	return out
}

func TestSplitKeepsPartsWithTheEntryPointAndCutsAtStops(t *testing.T) {
	cases := []struct {
		name, sample string
		want         []string
	}{
		{"continuation", "f(1) == 2\nassert f(2) == 3\n", []string{"assert f(1) == 2", "assert f(2) == 3"}},
		{"part without the entry point dropped", "f(1) == 2\nassert g(2) == 3\nassert f(3) == 4", []string{"assert f(1) == 2", "assert f(3) == 4"}},
		{"cut at \\n#", "f(1) == 2\n# more tests\nx = 1", []string{"assert f(1) == 2"}},
		{"cut at \\ndef", "f(1) == 2\ndef f(x):\n    return x", []string{"assert f(1) == 2"}},
		{"cut at \\nclass", "f(1) == 2\nclass A: pass", []string{"assert f(1) == 2"}},
		{"cut at \\nif", "f(1) == 2\nif __name__ == '__main__':\n    main()", []string{"assert f(1) == 2"}},
		{"cut at \\nprint", "f(1) == 2\nprint(f(1))", []string{"assert f(1) == 2"}},
		// The entry point counts anywhere in the part, even after the cut, as CodeT checks it first.
		{"entry point only after the cut", "x == 1\n# f(1)", []string{"assert x == 1"}},
		{"earliest stop wins", "f(1) == 2\nprint(1)\n# c\ndef g(): pass", []string{"assert f(1) == 2"}},
		{"stop needs the newline", "f(1) == 2 # ok\n", []string{"assert f(1) == 2 # ok"}},
		{"empty sample", "", nil},
		{"blank parts dropped", "assert   assert f(0)", []string{"assert f(0)"}},
		// "assert" not followed by a space does not split.
		{"assert( does not split", "f(1) == 2 and assert(f(2))", []string{"assert f(1) == 2 and assert(f(2))"}},
		{"multi-line assert kept whole", "f([1,\n   2]) == 3\n", []string{"assert f([1,\n   2]) == 3"}},
		{"python white space stripped", "f(1) == 2\x1c\x1f\n", []string{"assert f(1) == 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Split("f", c.sample); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Split(%q) = %q, want %q", c.sample, got, c.want)
			}
		})
	}
	if got := Split(" f\n", "f(1) == 1"); len(got) != 1 {
		t.Errorf("entry point is stripped before the check: got %q", got)
	}
}

func TestExtractDropsAssertsThatDoNotCompile(t *testing.T) {
	got := extract(t, "f",
		"f((1, 2) == 3\nassert f(1) == 1\nassert f(1) ==\nassert f(2) == [2\nassert f(3) == 3 if x else = 4\nassert f(4) == 4")
	want := []string{"assert f(1) == 1", "assert f(4) == 4"}
	if !reflect.DeepEqual(codes(got), want) {
		t.Fatalf("got %q, want %q", codes(got), want)
	}
	// Compiling is not running: a NameError or an assert on a tuple (always true) is fine.
	got = extract(t, "f", "f(undefined_name) == 1\nassert (f(1), 'msg')\n")
	if len(got) != 2 {
		t.Fatalf("got %q, want both", codes(got))
	}
	// A multi-line assert compiles only once indented under try: line by line.
	got = extract(t, "f", "f([1,\n2]) == 3\n")
	if len(got) != 1 {
		t.Fatalf("multi-line assert: got %q", codes(got))
	}
}

func TestExtractTakesFiveCompilingAssertsPerSampleAndCountsThem(t *testing.T) {
	var b strings.Builder
	b.WriteString("f(0) == (\n") // does not compile: not counted among the five
	for i := 1; i <= 7; i++ {
		b.WriteString("assert f(" + string(rune('0'+i)) + ") == 1\n")
	}
	got := extract(t, "f", b.String(), "f(1) == 1\nassert f(9) == 1\nassert f(1) == 1", "", "g(1) == 1")
	want := []schemas.GeneratedAssert{
		{Code: "assert f(1) == 1", Frequency: 3}, // twice in the second sample: CodeT counts occurrences
		{Code: "assert f(2) == 1", Frequency: 1},
		{Code: "assert f(3) == 1", Frequency: 1},
		{Code: "assert f(4) == 1", Frequency: 1},
		{Code: "assert f(5) == 1", Frequency: 1},
		{Code: "assert f(9) == 1", Frequency: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestExtractNothing(t *testing.T) {
	if got := extract(t, "f"); len(got) != 0 {
		t.Fatalf("no samples: %v", got)
	}
	if got := extract(t, "f", "", "   ", "g(1) == 2"); len(got) != 0 {
		t.Fatalf("no asserts: %v", got)
	}
}

func TestPythonCheckerEdgeCases(t *testing.T) {
	asserts := []string{
		"assert f(1) == 1",
		"assert f('\xff')",     // not UTF-8: cannot be Python source
		"assert f(1)\x00 == 1", // NUL: compile() refuses it
		"assert " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), // too deeply nested
		"assert f(\"\"\"\n\"\"\")", // a newline inside a string gains the indentation, but still compiles
		"assert f(1) == 1\nassert f(2) == 2",
	}
	got, err := python(t).Compiles(context.Background(), asserts)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, false, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPythonCheckerReportsAMissingInterpreter(t *testing.T) {
	_, err := Python{Path: "/nonexistent/python3"}.Compiles(context.Background(), []string{"assert 1"})
	if err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Fatalf("err = %v", err)
	}
}

func TestPrompt(t *testing.T) {
	p := "def f(x):\n    \"\"\"Return x.\"\"\"\n \t\n"
	want := "def f(x):\n    \"\"\"Return x.\"\"\"\n    pass\n\n# check the correctness of f\nassert "
	if got := Prompt(p, "f"); got != want {
		t.Fatalf("Prompt = %q, want %q", got, want)
	}
	if ci := ChatInstruction(p, "f"); !strings.Contains(ci, want) {
		t.Fatalf("chat instruction lacks the CodeT prompt: %q", ci)
	}
}

func TestChatReply(t *testing.T) {
	cases := map[string]string{
		"```python\nassert f(1) == 1\nassert f(2) == 2\n```\nThese test f.": "f(1) == 1\nassert f(2) == 2\n",
		"Sure:\n```\nf(1) == 1\n```":                                        "f(1) == 1\n",
		"assert f(1) == 1":                                                  "f(1) == 1",
		"```python\ndef f(x):\n    pass\n\n# check the correctness of f\nassert f(1) == 1\n```": "f(1) == 1\n",
		"```python": "",
	}
	for in, want := range cases {
		if got := ChatReply(in); got != want {
			t.Errorf("ChatReply(%q) = %q, want %q", in, got, want)
		}
	}
}
