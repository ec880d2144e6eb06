package generator

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mbppReferences reads the MBPP reference solutions (task id → code, CRLF normalised) from
// $CODEVERIFY_DATA_DIR/mbpp/mbpp.jsonl (default /work/shared/data); the test skips without them.
func mbppReferences(t *testing.T) map[int]string {
	t.Helper()
	dir := os.Getenv("CODEVERIFY_DATA_DIR")
	if dir == "" {
		dir = "/work/shared/data"
	}
	f, err := os.Open(filepath.Join(dir, "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Skipf("no MBPP data: %v", err)
	}
	defer f.Close()
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var row struct {
			TaskID int    `json:"task_id"`
			Code   string `json:"code"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		out[row.TaskID] = strings.ReplaceAll(row.Code, "\r\n", "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExtractMBPPReferences wraps every MBPP reference solution in each answer style Extract
// supports and checks that the program extracted is the reference (modulo surrounding whitespace):
// module-level assignments before the first def (`R = 3`, `MAX = 3000`, `INT_BITS = 32`) are code,
// not prose to skip.
func TestExtractMBPPReferences(t *testing.T) {
	refs := mbppReferences(t)
	indent := func(s, by string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = by + l
		}
		return strings.Join(lines, "\n")
	}
	styles := []struct {
		name string
		wrap func(code string) string
	}{
		{"fenced python", func(c string) string { return "```python\n" + c + "\n```" }},
		{"fenced python, prose around", func(c string) string {
			return "Sure! Here is the function:\n\n```python\n" + c + "\n```\n\nThis solves the problem."
		}},
		{"bare fence", func(c string) string { return "```\n" + c + "\n```\n" }},
		{"Python capitalised, CRLF", func(c string) string {
			return strings.ReplaceAll("```Python\n"+c+"\n```\n", "\n", "\r\n")
		}},
		{"py fence", func(c string) string { return "```py\n" + c + "\n```" }},
		{"unclosed fence", func(c string) string { return "```python\n" + c + "\n" }},
		{"indented block in a list item", func(c string) string {
			return "1. Define it:\n\n    ```python\n" + indent(c, "    ") + "\n    ```\n"
		}},
		{"unfenced", func(c string) string { return c + "\n" }},
		{"unfenced, leading prose", func(c string) string { return "Here is the function:\n" + c + "\n" }},
		{"unfenced, leading prose and blank line", func(c string) string {
			return "You can do it like this.\n\n" + c + "\n"
		}},
	}
	failed := map[string]int{}
	for id, ref := range refs {
		want := strings.TrimSpace(ref)
		req := Request{API: APIChat, Task: TaskMBPP, EntryPoint: firstDefName(ref)}
		for _, s := range styles {
			got := Extract(req, s.wrap(ref))
			if strings.TrimSpace(got.Code) != want {
				if failed[s.name]++; failed[s.name] <= 3 {
					t.Errorf("mbpp/%d, %s: extracted\n%q\nwant\n%q", id, s.name, got.Code, want)
				}
			}
		}
	}
	for name, n := range failed {
		t.Errorf("%s: %d of %d references not extracted as written", name, n, len(refs))
	}
}

func firstDefName(code string) string {
	if m := defRe.FindStringSubmatch(code); m != nil {
		return m[1]
	}
	return ""
}
