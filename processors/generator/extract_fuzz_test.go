package generator

import (
	"strings"
	"testing"
)

// Extract never fails and never panics, whatever a model answers; a function task's program
// always starts with the prompt's code, so the signature the tests call is there.
func FuzzExtract(f *testing.F) {
	prefix := "def add(a, b):\n    \"\"\"Add.\"\"\"\n"
	for _, s := range []string{
		"```python\ndef add(a, b):\n    return a + b\n```",
		"Here is the code:\n```\n    return a + b\n",
		"Sure!\n\ndef add(a, b):\n    return a + b\n\nif __name__ == '__main__':\n    print(add(1, 2))\n",
		"    return a + b\n\n\ndef other():\n    pass",
		"```py\r\n\tdef add(a,b): return a+b\r\n```\n```python\nx = 1\n```",
		"", "```", "\n\n\t \n", "def", "```python", "\x00\xff\xfe",
	} {
		for api := range 2 {
			for task := range 2 {
				f.Add(s, uint8(api), uint8(task), prefix, "\ndef ")
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw string, api, task uint8, prefix, stop string) {
		r := Request{API: []string{APIChat, APICompletion}[api%2], Task: []string{TaskFunction, TaskMBPP}[task%2],
			EntryPoint: "add", Prefix: prefix}
		if stop != "" {
			r.Stops = []string{stop}
		}
		ex := Extract(r, raw)
		if ex.Method == "" {
			t.Fatalf("no method for %q", raw)
		}
		if r.Task == TaskFunction && !strings.HasPrefix(ex.Code, strings.TrimRight(prefix, "\n")) {
			t.Fatalf("function program does not start with the prompt's code:\nprefix %q\ncode %q", prefix, ex.Code)
		}
	})
}
