package generator

import (
	"regexp"
	"strings"
)

// Extraction is the program made from one raw model output.
type Extraction struct {
	Code   string
	Method string // how it was found: fence, fence-unclosed, prose-skipped, raw, completion
}

var defRe = regexp.MustCompile(`(?m)^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(`)

// stmtRes recognise a line that begins a Python statement at top level, so that an unfenced answer's
// code starts at its first statement — module-level constants (`MAX = 3000`, `R = 3`) included —
// while leading prose ("Here is the function:") is skipped. Each pattern is strict enough that
// ordinary English does not match: prose rarely has an identifier followed by `=`, or ends a
// sentence with `)`.
var stmtRes = []*regexp.Regexp{
	regexp.MustCompile(`^(?:async[ \t]+)?def[ \t]+[A-Za-z_]\w*[ \t]*\(`),
	regexp.MustCompile(`^class[ \t]+[A-Za-z_]\w*[ \t]*[:(]`),
	regexp.MustCompile(`^import[ \t]+[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?)*[ \t]*;?[ \t]*(?:#.*)?$`),
	regexp.MustCompile(`^from[ \t]+\.*[A-Za-z_][\w.]*[ \t]+import[ \t]+\S`),
	regexp.MustCompile(`^@[A-Za-z_][\w.]*`),
	// assignment, augmented or to a tuple of targets: `MAX=1000;`, `a, b = 0, 1`, `d['k'] += 1`
	regexp.MustCompile(`^[A-Za-z_][\w.]*(?:\[[^\]\n]*\])*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*(?:[-+*/%&|^@]|//|\*\*|>>|<<)?=[^=]`),
	// a call statement: `sys.setrecursionlimit(10**6)`
	regexp.MustCompile(`^[A-Za-z_][\w.]*\(.*\)[ \t]*;?[ \t]*(?:#.*)?$`),
}

// compoundRe is a top-level compound statement that may start a program; it counts only when the
// next non-blank line is indented (prose such as "for x in xs:" has no body).
var compoundRe = regexp.MustCompile(`^(?:if[ \t].*|while[ \t].*|for[ \t]+.+[ \t]in[ \t].*|try[ \t]*):[ \t]*(?:#.*)?$`)

// codeStart is the byte offset of the first line of text that begins a Python statement, or -1.
func codeStart(text string) int {
	lines := strings.SplitAfter(text, "\n")
	off := 0
	for i, raw := range lines {
		l := strings.TrimRight(raw, "\n")
		for _, re := range stmtRes {
			if re.MatchString(l) {
				return off
			}
		}
		if compoundRe.MatchString(l) {
			for _, next := range lines[i+1:] {
				if strings.TrimSpace(next) == "" {
					continue
				}
				if next[0] == ' ' || next[0] == '\t' {
					return off
				}
				break
			}
		}
		off += len(raw)
	}
	return -1
}

// Extract turns a raw model output into the program to run. It never fails: at worst the program is
// the raw text (which then FAILs honestly in the executor). The raw text is kept by the caller.
func Extract(r Request, raw string) Extraction {
	text := strings.ReplaceAll(raw, "\r\n", "\n")
	text = CutAtStops(text, r.Stops)
	if r.API == APICompletion {
		if r.Task == TaskMBPP {
			return Extraction{Code: stripMainGuard(text), Method: "completion"}
		}
		return Extraction{Code: r.Prefix + indentBody(r.Prefix, text), Method: "completion"}
	}

	code, method := findCode(text, r.EntryPoint)
	code = stripMainGuard(dedent(code))
	if r.Task == TaskFunction {
		if definesFunc(code, r.EntryPoint) {
			// The prompt may define helpers and imports the answer relies on; the answer's def,
			// coming later, replaces the prompt's stub.
			code = strings.TrimRight(r.Prefix, "\n") + "\n\n" + code
		} else {
			code = r.Prefix + indentBody(r.Prefix, code)
		}
	}
	return Extraction{Code: code, Method: method}
}

// CutAtStops cuts text at the earliest stop sequence (servers may honour only some of them).
func CutAtStops(text string, stops []string) string {
	cut := len(text)
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && i < cut {
			cut = i
		}
	}
	return text[:cut]
}

type block struct {
	lang, body string
	closed     bool
}

// fences returns the fenced blocks of text in order; an unclosed last fence (output cut by
// max_tokens) runs to the end.
func fences(text string) []block {
	var out []block
	lines := strings.SplitAfter(text, "\n")
	var cur *block
	var body strings.Builder
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if cur == nil {
			if strings.HasPrefix(t, "```") {
				cur = &block{lang: strings.ToLower(strings.TrimSpace(strings.TrimPrefix(t, "```")))}
				body.Reset()
			}
			continue
		}
		if t == "```" || (strings.HasPrefix(t, "```") && strings.Trim(t, "`") == "") {
			cur.body, cur.closed = body.String(), true
			out = append(out, *cur)
			cur = nil
			continue
		}
		body.WriteString(l)
	}
	if cur != nil {
		cur.body = body.String()
		out = append(out, *cur)
	}
	return out
}

func isPythonLang(lang string) bool {
	switch lang {
	case "", "python", "py", "python3", "python 3", "py3":
		return true
	}
	return false
}

// findCode picks the code of an answer: among fenced python (or unlabelled) blocks, the one
// defining the entry point, else the first defining any function, else the longest; with no
// fences, the text from the first line that begins a Python statement (codeStart).
func findCode(text, entry string) (string, string) {
	bs := fences(text)
	var cands []block
	for _, b := range bs {
		if isPythonLang(b.lang) && strings.TrimSpace(b.body) != "" {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		if len(bs) > 0 && strings.TrimSpace(bs[0].body) != "" { // a block labelled otherwise still beats prose
			cands = bs
		} else {
			if at := codeStart(text); at > 0 {
				return text[at:], "prose-skipped"
			}
			return text, "raw"
		}
	}
	pick := -1
	if entry != "" {
		for i, b := range cands {
			if definesFunc(b.body, entry) {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		for i, b := range cands {
			if defRe.MatchString(b.body) {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		for i, b := range cands {
			if pick < 0 || len(b.body) > len(cands[pick].body) {
				pick = i
			}
		}
	}
	if !cands[pick].closed {
		return cands[pick].body, "fence-unclosed"
	}
	return cands[pick].body, "fence"
}

func definesFunc(code, name string) bool {
	if name == "" {
		return false
	}
	for _, m := range defRe.FindAllStringSubmatch(code, -1) {
		if m[1] == name {
			return true
		}
	}
	return false
}

// dedent removes the indentation common to all non-blank lines (answers quoted inside a list item).
func dedent(code string) string {
	lines := strings.Split(code, "\n")
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if prefix == "" {
		return code
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n")
}

// indentBody makes a function body continue prefix: when prefix ends inside a def (its last line
// is the signature or an indented docstring) and the body's first line has no indentation, the body
// is indented by four spaces. A body that starts mid-line (the prefix ends without a newline) is
// left alone.
func indentBody(prefix, body string) string {
	if !strings.HasSuffix(prefix, "\n") && prefix != "" {
		return body
	}
	firstLine := ""
	for _, l := range strings.Split(body, "\n") {
		if strings.TrimSpace(l) != "" {
			firstLine = l
			break
		}
	}
	if firstLine == "" || firstLine[0] == ' ' || firstLine[0] == '\t' || defRe.MatchString(firstLine) {
		return body
	}
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n")
}

// stripMainGuard drops a top-level `if __name__ == "__main__":` block: demo code there may read
// stdin or print forever, and the tests never need it.
func stripMainGuard(code string) string {
	lines := strings.Split(code, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "if __name__") {
			j := i + 1
			for j < len(lines) && (strings.TrimSpace(lines[j]) == "" || lines[j][0] == ' ' || lines[j][0] == '\t') {
				j++
			}
			return strings.Join(append(lines[:i:i], lines[j:]...), "\n")
		}
	}
	return code
}
