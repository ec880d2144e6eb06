// Package synthetic makes Candidates without a GPU: deterministic mutations of a problem's
// reference solution (operator swaps, off-by-one constants, wrong returns, dropped lines, swapped
// arguments) plus the unmodified reference, so the whole pipeline can run at MBPP scale with a
// realistic PASS/FAIL mix. Every candidate is marked: Model is ModelName, Source is "synthetic".
package synthetic

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/codeverify/codeverify/schemas"
)

// ModelName names the generator in every synthetic Candidate; bump it when mutations change.
const ModelName = "synthetic-mutation-v1"

// SourceName is Candidate.Source of synthetic candidates.
const SourceName = "synthetic"

// Mutation kinds.
const (
	Identity     = "identity"
	OperatorSwap = "operator_swap"
	OffByOne     = "off_by_one"
	WrongReturn  = "wrong_return"
	DropLine     = "drop_line"
	SwapArgs     = "swap_args"
)

// weights of each kind (out of 100). The reference itself is drawn about a third of the time;
// some mutations do not change behaviour on the tests, so PASS ends up near a half.
var kinds = []struct {
	name   string
	weight int
}{{Identity, 30}, {OperatorSwap, 20}, {OffByOne, 15}, {WrongReturn, 10}, {DropLine, 10}, {SwapArgs, 15}}

// Candidates returns p.N candidates for problem prob, ids derived from (p.RequestID, index). The
// same prompt always yields the same programs (the RNG is seeded from p.Seed, the problem, the index).
func Candidates(p schemas.Prompt, prob schemas.Problem) []schemas.Candidate {
	ref := strings.ReplaceAll(prob.ReferenceCode, "\r\n", "\n")
	out := make([]schemas.Candidate, p.N)
	for i := range out {
		code, kind := Mutate(ref, rngFor(p.Seed, prob.ProblemID, i))
		out[i] = schemas.Candidate{
			CandidateID: schemas.CandidateID(p.RequestID, i), RequestID: p.RequestID, ProblemID: prob.ProblemID,
			Benchmark: prob.Benchmark, Split: prob.Split, SampleIndex: int32(i), Code: code,
			Completion: "# " + ModelName + ": " + kind + "\n" + code, Model: ModelName, Source: SourceName,
			Temperature: p.Temperature, TopP: p.TopP, MaxTokens: p.MaxTokens, FinishReason: "stop",
		}
	}
	return out
}

func rngFor(seed int64, problemID string, index int) *rand.Rand {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%d", seed, problemID, index)))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
}

// Mutate draws a mutation kind and applies it; when the code offers no site for it, the other
// kinds are tried in order, and the reference is returned unchanged as a last resort.
func Mutate(code string, rng *rand.Rand) (string, string) {
	r := rng.IntN(100)
	start := 0
	for i, k := range kinds {
		if r < k.weight {
			start = i
			break
		}
		r -= k.weight
	}
	for j := range kinds {
		k := kinds[(start+j)%len(kinds)].name
		if k == Identity {
			if j == 0 {
				return code, Identity
			}
			continue
		}
		if out, ok := apply(k, code, rng); ok && out != code {
			return out, k
		}
	}
	return code, Identity
}

func apply(kind, code string, rng *rand.Rand) (string, bool) {
	switch kind {
	case OperatorSwap:
		return swapOperator(code, rng)
	case OffByOne:
		return offByOne(code, rng)
	case WrongReturn:
		return wrongReturn(code, rng)
	case DropLine:
		return dropLine(code, rng)
	case SwapArgs:
		return swapArgs(code, rng)
	}
	return code, false
}

var swaps = map[string]string{"<=": "<", ">=": ">", "<": "<=", ">": ">=", "==": "!=", "!=": "==", "+": "-", "-": "+",
	"*": "+", "//": "%", "%": "//", " and ": " or ", " or ": " and "}

var opRe = regexp.MustCompile(`<=|>=|==|!=|//|<|>|\+|-|\*|%| and | or `)

// site is a match of re outside string literals and comments, on a line that is not a def/import.
type site struct{ start, end int }

func sites(code string, re *regexp.Regexp, ok func(code string, s site) bool) []site {
	var out []site
	lineStart := 0
	for _, line := range strings.SplitAfter(code, "\n") {
		t := strings.TrimSpace(line)
		if !(strings.HasPrefix(t, "def ") || strings.HasPrefix(t, "import ") || strings.HasPrefix(t, "from ") || strings.HasPrefix(t, "#")) {
			for _, m := range re.FindAllStringIndex(line, -1) {
				if inString(line[:m[0]]) {
					continue
				}
				s := site{lineStart + m[0], lineStart + m[1]}
				if ok == nil || ok(code, s) {
					out = append(out, s)
				}
			}
		}
		lineStart += len(line)
	}
	return out
}

// inString reports whether a position after prefix is inside a string literal or a comment.
func inString(prefix string) bool {
	var quote byte
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == '#':
			return true
		}
	}
	return quote != 0
}

func swapOperator(code string, rng *rand.Rand) (string, bool) {
	ss := sites(code, opRe, func(code string, s site) bool {
		prev, next := byte(' '), byte(' ')
		if s.start > 0 {
			prev = code[s.start-1]
		}
		if s.end < len(code) {
			next = code[s.end]
		}
		op := code[s.start:s.end]
		// not part of **, ->, <<, >>, augmented assignments' neighbours, or an exponent (1e-5)
		if next == '*' || prev == '*' || next == '>' && op == "-" || next == op[0] || prev == op[0] || (op == "-" || op == "+") && (prev == 'e' || prev == 'E') {
			return false
		}
		return true
	})
	if len(ss) == 0 {
		return code, false
	}
	s := ss[rng.IntN(len(ss))]
	return code[:s.start] + swaps[code[s.start:s.end]] + code[s.end:], true
}

var intRe = regexp.MustCompile(`\b\d+\b`)

func offByOne(code string, rng *rand.Rand) (string, bool) {
	ss := sites(code, intRe, func(code string, s site) bool {
		if s.start > 0 && (code[s.start-1] == '.' || code[s.start-1] == '_' || isLetter(code[s.start-1])) {
			return false
		}
		return s.end >= len(code) || code[s.end] != '.' && code[s.end] != 'e' && code[s.end] != 'j'
	})
	if len(ss) == 0 {
		return code, false
	}
	s := ss[rng.IntN(len(ss))]
	n, err := strconv.Atoi(code[s.start:s.end])
	if err != nil {
		return code, false
	}
	if n == 0 || rng.IntN(2) == 0 {
		n++
	} else {
		n--
	}
	return code[:s.start] + strconv.Itoa(n) + code[s.end:], true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

var returnRe = regexp.MustCompile(`(?m)^([ \t]*)return\b[ \t]*(.*)$`)

func wrongReturn(code string, rng *rand.Rand) (string, bool) {
	ms := returnRe.FindAllStringSubmatchIndex(code, -1)
	if len(ms) == 0 {
		return code, false
	}
	m := ms[rng.IntN(len(ms))]
	indent, expr := code[m[2]:m[3]], strings.TrimSpace(code[m[4]:m[5]])
	var repl string
	switch {
	case expr == "" || expr == "None":
		repl = "return 0"
	case expr == "True" || expr == "False":
		repl = "return not " + expr
	default:
		repl = []string{"return None", "return not (" + expr + ")", "return 0"}[rng.IntN(3)]
	}
	return code[:m[0]] + indent + repl + code[m[1]:], true
}

func dropLine(code string, rng *rand.Rand) (string, bool) {
	lines := strings.Split(code, "\n")
	var idx []int
	for i, l := range lines {
		t := strings.TrimSpace(l)
		// Only statements inside a function body: dropping a def, a decorator or an import is a less
		// interesting failure, and one without a body would be a syntax error every time.
		if t != "" && l[0] != ' ' && l[0] != '\t' {
			continue
		}
		if t == "" || strings.HasPrefix(t, "#") || strings.HasSuffix(t, ":") || strings.HasPrefix(t, "def ") {
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return code, false
	}
	i := idx[rng.IntN(len(idx))]
	return strings.Join(append(lines[:i:i], lines[i+1:]...), "\n"), true
}

var (
	defParamsRe = regexp.MustCompile(`(?m)^([ \t]*def[ \t]+\w+[ \t]*\()([^()]*)(\))`)
	callRe      = regexp.MustCompile(`\b(\w+)\(([^()]*,[^()]*)\)`)
)

// swapArgs swaps two parameters of a def, or two arguments of a call.
func swapArgs(code string, rng *rand.Rand) (string, bool) {
	type cand struct{ start, end int }
	var cs []cand
	for _, m := range defParamsRe.FindAllStringSubmatchIndex(code, -1) {
		if simpleList(code[m[4]:m[5]]) {
			cs = append(cs, cand{m[4], m[5]})
		}
	}
	for _, m := range callRe.FindAllStringSubmatchIndex(code, -1) {
		if name := code[m[2]:m[3]]; name != "def" && !inString(lineBefore(code, m[0])) && simpleList(code[m[4]:m[5]]) {
			cs = append(cs, cand{m[4], m[5]})
		}
	}
	if len(cs) == 0 {
		return code, false
	}
	c := cs[rng.IntN(len(cs))]
	parts := strings.Split(code[c.start:c.end], ",")
	i := rng.IntN(len(parts) - 1)
	a, b := strings.TrimSpace(parts[i]), strings.TrimSpace(parts[i+1])
	if a == b {
		return code, false
	}
	parts[i] = strings.Replace(parts[i], a, b, 1)
	parts[i+1] = strings.Replace(parts[i+1], b, a, 1)
	return code[:c.start] + strings.Join(parts, ",") + code[c.end:], true
}

func lineBefore(code string, pos int) string {
	return code[strings.LastIndex(code[:pos], "\n")+1 : pos]
}

// simpleList: at least two comma-separated items, none with brackets, defaults, stars or strings.
func simpleList(s string) bool {
	parts := strings.Split(s, ",")
	if len(parts) < 2 || strings.ContainsAny(s, "=*[]{}'\":") {
		return false
	}
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return false
		}
	}
	return true
}
