package generator

import (
	"strings"
	"testing"
)

const hePrompt = "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if any two numbers are closer than threshold.\n    >>> has_close_elements([1.0, 2.0], 0.5)\n    False\n    \"\"\"\n"

// TestExtractCorpus runs extraction over realistic messy model outputs.
func TestExtractCorpus(t *testing.T) {
	mbppChat := Request{API: APIChat, Task: TaskMBPP, EntryPoint: "remove_Occ"}
	heChat := Request{API: APIChat, Task: TaskFunction, EntryPoint: "has_close_elements", Prefix: hePrompt}
	heCompl := Request{API: APICompletion, Task: TaskFunction, EntryPoint: "has_close_elements", Prefix: hePrompt, Stops: DefaultStops()}
	mbppCompl := Request{API: APICompletion, Task: TaskMBPP, EntryPoint: "add", Stops: mbppStops}
	cases := []struct {
		name   string
		req    Request
		raw    string
		want   string // exact program, or "" to skip
		has    []string
		hasNot []string
		method string
	}{
		{name: "fenced python with prose around", req: mbppChat,
			raw:  "Sure! Here is the function:\n\n```python\ndef remove_Occ(s, ch):\n    return s.replace(ch, '', 1)\n```\n\nThis removes the first occurrence.",
			want: "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)\n", method: "fence"},
		{name: "bare fence", req: mbppChat, raw: "```\ndef remove_Occ(s, ch):\n    return s\n```",
			want: "def remove_Occ(s, ch):\n    return s\n", method: "fence"},
		{name: "Python capitalised, CRLF", req: mbppChat, raw: "```Python\r\ndef remove_Occ(s, ch):\r\n    return s\r\n```\r\n",
			want: "def remove_Occ(s, ch):\n    return s\n", method: "fence"},
		{name: "no fence, leading prose", req: mbppChat, raw: "You can do it like this.\nimport re\ndef remove_Occ(s, ch):\n    return re.sub(ch, '', s, 1)\n",
			want: "import re\ndef remove_Occ(s, ch):\n    return re.sub(ch, '', s, 1)\n", method: "prose-skipped"},
		{name: "no fence, prose then a module-level constant", req: mbppChat,
			raw:  "Here is the function, for example:\nif you want speed, use this:\nfor x in xs:\nINT_BITS = 32\ndef remove_Occ(s, ch):\n    return s\n",
			want: "INT_BITS = 32\ndef remove_Occ(s, ch):\n    return s\n", method: "prose-skipped"},
		{name: "no fence, code starting with a constant", req: mbppChat, raw: "MAX=1000;\ndef remove_Occ(s, ch):\n    return s\n",
			want: "MAX=1000;\ndef remove_Occ(s, ch):\n    return s\n", method: "raw"},
		{name: "no fence, just code", req: mbppChat, raw: "def remove_Occ(s, ch):\n    return s\n", want: "def remove_Occ(s, ch):\n    return s\n", method: "raw"},
		{name: "several blocks: the one defining the entry point", req: mbppChat,
			raw: "First a helper:\n```python\ndef helper(x):\n    return x\n```\nThen the usage:\n```python\nprint(remove_Occ('hello', 'l'))\n```\nAnd the function:\n```python\ndef remove_Occ(s, ch):\n    return helper(s)\n```",
			has: []string{"def remove_Occ(s, ch):"}, hasNot: []string{"print(", "def helper"}, method: "fence"},
		{name: "bash block first, then python", req: mbppChat, raw: "```bash\npip install nothing\n```\n```python\ndef remove_Occ(s, ch):\n    return s\n```",
			has: []string{"def remove_Occ"}, hasNot: []string{"pip"}},
		{name: "unclosed fence (cut by max_tokens)", req: mbppChat, raw: "```python\ndef remove_Occ(s, ch):\n    for i in range(len(s)):\n        if s[i] == ch:\n            s = s[:i] + s[i+1:",
			has: []string{"def remove_Occ", "s = s[:i]"}, method: "fence-unclosed"},
		{name: "main guard stripped", req: mbppChat, raw: "```python\ndef remove_Occ(s, ch):\n    return s\n\nif __name__ == \"__main__\":\n    s = input()\n    print(remove_Occ(s, 'a'))\n```",
			want: "def remove_Occ(s, ch):\n    return s\n", hasNot: []string{"input()"}},
		{name: "indented block inside a list item", req: mbppChat, raw: "1. Define it:\n\n    ```python\n    def remove_Occ(s, ch):\n        return s\n    ```\n",
			want: "def remove_Occ(s, ch):\n    return s\n"},
		{name: "tilde-free block with language py", req: mbppChat, raw: "```py\ndef remove_Occ(s, ch): return s\n```", want: "def remove_Occ(s, ch): return s\n"},
		{name: "HumanEval chat: whole function repeated", req: heChat,
			raw: "```python\ndef has_close_elements(numbers, threshold):\n    for i, a in enumerate(numbers):\n        for b in numbers[i+1:]:\n            if abs(a - b) < threshold:\n                return True\n    return False\n```",
			has: []string{"from typing import List", "return False"}},
		{name: "HumanEval chat: body only, unindented", req: heChat, raw: "```python\nreturn any(abs(a-b) < threshold for a in numbers for b in numbers if a is not b)\n```",
			want: hePrompt + "    return any(abs(a-b) < threshold for a in numbers for b in numbers if a is not b)\n"},
		{name: "HumanEval completion: body, stop at top-level def", req: heCompl,
			raw:  "    for i in range(len(numbers)):\n        pass\n    return False\n\n\ndef check():\n    pass\n",
			want: hePrompt + "    for i in range(len(numbers)):\n        pass\n    return False\n\n"},
		{name: "HumanEval completion: stop at comment and print", req: heCompl, raw: "    return False\n# test\nprint(has_close_elements([], 1))",
			want: hePrompt + "    return False"},
		{name: "HumanEval completion: unindented body", req: heCompl, raw: "return False\n", want: hePrompt + "    return False\n"},
		{name: "MBPP completion: cut at closing fence", req: mbppCompl, raw: "def add(a, b):\n    return a + b\n```\n\n- Example 4:\n>>> Problem:", want: "def add(a, b):\n    return a + b\n"},
		{name: "MBPP completion: keeps helper defs", req: mbppCompl, raw: "def helper(a):\n    return a\n\ndef add(a, b):\n    return helper(a) + b\n```",
			has: []string{"def helper", "def add"}},
		{name: "empty output", req: mbppChat, raw: "", want: ""},
		{name: "refusal prose only", req: mbppChat, raw: "I'm sorry, I cannot help with that.", want: "I'm sorry, I cannot help with that.", method: "raw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Extract(c.req, c.raw)
			if c.want != "" || (c.has == nil && c.hasNot == nil) {
				if got.Code != c.want {
					t.Errorf("code:\n%q\nwant:\n%q", got.Code, c.want)
				}
			}
			for _, h := range c.has {
				if !strings.Contains(got.Code, h) {
					t.Errorf("code lacks %q:\n%s", h, got.Code)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(got.Code, h) {
					t.Errorf("code has %q:\n%s", h, got.Code)
				}
			}
			if c.method != "" && got.Method != c.method {
				t.Errorf("method %q, want %q", got.Method, c.method)
			}
		})
	}
}

func TestApportionSumsToUsage(t *testing.T) {
	ch := []choice{{0, "aaaa", "stop"}, {1, "aaaaaaaa", "stop"}, {2, "x", "length"}, {3, "", "stop"}}
	got := apportion(100, ch, 64)
	sum := 0
	for _, v := range got {
		sum += v
	}
	if sum != 100 || got[2] != 64 || got[1] <= got[0] {
		t.Fatalf("apportion = %v (sum %d)", got, sum)
	}
}
