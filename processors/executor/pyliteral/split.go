package pyliteral

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Splitting asserts into (call expression, expected value): the expression goes into the sandbox,
// the expected value stays here and the comparison is made here, on the canonical encoding of
// what the expression returned. Anything this conservative splitter does not fully understand
// stays a statement and runs in the sandbox on the nonce path.

// checkMode is how an expression's value is judged.
type checkMode byte

const (
	modeEq      checkMode = iota + 1 // value == expected
	modeTruthy                       // assert X
	modeFalsy                        // assert not X
	modeIs                           // X is True / False / None
	modeIsClose                      // math.isclose(X, expected, rel_tol, abs_tol)
	modeAbsTol                       // abs(X - expected) < tol (or <=)
)

// Item is one test as executed: Expr (split: evaluated in the sandbox, judged by Judge) or Stmt (nonce path). Shaped:
// the assert is `call(...) == literal` (one `==`, a call on its left, a plain value on its right),
// the shape whose returned value the behaviour features compare across candidates.
type Item struct {
	Expr   string
	Stmt   string
	chk    check
	Shaped bool
}

type check struct {
	mode           checkMode
	expected       Value
	relTol, absTol float64
	inclusive      bool // <= rather than <
}

// Judge decides a split item (Expr set) from the value its expression returned in the sandbox:
// whether the assert holds, and if not, why (a failure detail).
func (it Item) Judge(v Value) (bool, string) { return it.chk.judge(v) }

// JudgesValue reports whether the assert compares the value itself: false for `assert X` and
// `assert not X`, which only ask for its truth.
func (it Item) JudgesValue() bool { return it.chk.mode != modeTruthy && it.chk.mode != modeFalsy }

// judge decides one split test from the value the sandbox reported.
func (c check) judge(v Value) (bool, string) {
	if v.k == pyOpaque && (v.truth == 0 || c.mode != modeTruthy && c.mode != modeFalsy) {
		return false, "returned " + v.String() + ", not a plain value"
	}
	switch c.mode {
	case modeEq:
		if Equal(v, c.expected) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s, want %s", v.String(), c.expected.String())
	case modeTruthy, modeFalsy:
		t, _ := truthy(v)
		if t == (c.mode == modeTruthy) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s", v.String())
	case modeIs:
		if v.k == c.expected.k && (v.k == pyNone || v.b == c.expected.b) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s, want %s", v.String(), c.expected.String())
	case modeIsClose, modeAbsTol:
		if !v.numeric() {
			return false, fmt.Sprintf("got %s, want a number close to %s", v.String(), c.expected.String())
		}
		a, b := v.float64(), c.expected.float64()
		var ok bool
		if c.mode == modeIsClose {
			ok = a == b || !math.IsInf(a, 0) && !math.IsInf(b, 0) &&
				math.Abs(a-b) <= math.Max(c.relTol*math.Max(math.Abs(a), math.Abs(b)), c.absTol)
		} else {
			d := math.Abs(a - b)
			ok = d < c.absTol || c.inclusive && d == c.absTol
		}
		if ok {
			return true, ""
		}
		return false, fmt.Sprintf("got %s, want %s", v.String(), c.expected.String())
	}
	return false, "unknown check"
}

// topLevel returns the indexes of tokens at bracket depth 0.
func topLevel(ts []tok) []int {
	var idx []int
	d := 0
	for n, t := range ts {
		if t.kind == 'o' {
			switch t.s {
			case "(", "[", "{":
				if d == 0 {
					idx = append(idx, n)
				}
				d++
				continue
			case ")", "]", "}":
				d--
				continue
			}
		}
		if d == 0 {
			idx = append(idx, n)
		}
	}
	return idx
}

// source renders tokens back to Python source (spaces between tokens are always legal here).
func source(ts []tok) string {
	parts := make([]string, len(ts))
	for n, t := range ts {
		parts[n] = t.s
	}
	return strings.Join(parts, " ")
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true}
var exprKeywords = map[string]bool{"and": true, "or": true, "not": true, "if": true, "else": true, "lambda": true,
	"for": true, "in": true, "is": true, "await": true, "yield": true}

// SplitAssert turns one assert statement into an Item; ok is false when it must stay a statement.
func SplitAssert(stmt string) (Item, bool) {
	ts, err := tokenize(stmt)
	if err != nil {
		return Item{}, false
	}
	for len(ts) > 0 && ts[len(ts)-1].kind == 'N' {
		ts = ts[:len(ts)-1]
	}
	if len(ts) < 2 || ts[0].kind != 'n' || ts[0].s != "assert" {
		return Item{}, false
	}
	ts = ts[1:]
	for _, n := range topLevel(ts) { // one statement only, message included
		if ts[n].kind == 'N' || ts[n].kind == 'o' && ts[n].s == ";" {
			return Item{}, false
		}
	}
	for _, n := range topLevel(ts) { // the message after a top-level comma is only shown on failure
		if ts[n].kind == 'o' && ts[n].s == ":=" {
			return Item{}, false
		}
		if ts[n].kind == 'o' && ts[n].s == "," {
			ts = ts[:n]
			break
		}
	}
	// `assert (X)` is `assert X` unless the parentheses make a tuple (always true), hold a walrus
	// or are empty.
	for len(ts) > 2 && ts[0].kind == 'o' && ts[0].s == "(" && len(topLevel(ts)) == 1 && !hasTopLevel(ts[1:len(ts)-1], ",", ":=") {
		ts = ts[1 : len(ts)-1]
	}
	if len(ts) == 0 {
		return Item{}, false
	}
	top := topLevel(ts)
	var cmps, kws []int
	for _, n := range top {
		switch {
		case ts[n].kind == 'o' && compareOps[ts[n].s]:
			cmps = append(cmps, n)
		case ts[n].kind == 'n' && exprKeywords[ts[n].s]:
			kws = append(kws, n)
		}
	}
	switch {
	case len(cmps) == 0 && len(kws) == 0:
		if len(ts) >= 4 && ts[0].s == "math" && ts[1].s == "." && ts[2].s == "isclose" && ts[3].s == "(" && ts[len(ts)-1].s == ")" {
			return splitIsClose(ts[4 : len(ts)-1])
		}
		return Item{Expr: source(ts), chk: check{mode: modeTruthy}}, true
	case len(cmps) == 0 && len(kws) == 1 && kws[0] == 0 && ts[0].s == "not" && len(ts) > 1:
		return Item{Expr: source(ts[1:]), chk: check{mode: modeFalsy}}, true
	case len(cmps) == 0 && len(kws) == 1 && ts[kws[0]].s == "is" && kws[0] == len(ts)-2 && kws[0] > 0:
		v, ok := parseLiteral(ts[len(ts)-1:])
		if !ok || v.k != pyBool && v.k != pyNone {
			return Item{}, false
		}
		return Item{Expr: source(ts[:kws[0]]), chk: check{mode: modeIs, expected: v}}, true
	case len(cmps) == 1 && len(kws) == 0 && ts[cmps[0]].s == "==":
		l, r := ts[:cmps[0]], ts[cmps[0]+1:]
		if len(l) == 0 || len(r) == 0 {
			return Item{}, false
		}
		if v, ok := parseLiteral(r); ok {
			return Item{Expr: source(l), chk: check{mode: modeEq, expected: v}, Shaped: isCall(l)}, true
		}
		if v, ok := parseLiteral(l); ok {
			return Item{Expr: source(r), chk: check{mode: modeEq, expected: v}}, true
		}
	case len(cmps) == 1 && len(kws) == 0 && (ts[cmps[0]].s == "<" || ts[cmps[0]].s == "<="):
		l, r := ts[:cmps[0]], ts[cmps[0]+1:]
		tol, ok := parseLiteral(r)
		if !ok || !tol.numeric() || len(l) < 4 || l[0].s != "abs" || l[1].s != "(" || l[len(l)-1].s != ")" {
			return Item{}, false
		}
		inner := l[2 : len(l)-1]
		if len(topLevel(l[1:])) != 1 { // abs( ... ) must be one call
			return Item{}, false
		}
		minus := -1
		for _, n := range topLevel(inner) {
			t := inner[n]
			if t.kind == 'o' && t.s == "-" && n > 0 && isOperandEnd(inner[n-1]) {
				if minus >= 0 {
					return Item{}, false
				}
				minus = n
			} else if t.kind == 'o' && (t.s == "+" || t.s == "-" && n > 0 && isOperandEnd(inner[n-1]) || compareOps[t.s] || t.s == "," || t.s == "|" || t.s == "&" || t.s == "^" || t.s == "<<" || t.s == ">>") ||
				t.kind == 'n' && exprKeywords[t.s] {
				return Item{}, false
			}
		}
		if minus <= 0 {
			return Item{}, false
		}
		a, b := inner[:minus], inner[minus+1:]
		c := check{mode: modeAbsTol, absTol: tol.float64(), inclusive: ts[cmps[0]].s == "<="}
		if v, ok := parseLiteral(b); ok && v.numeric() {
			c.expected = v
			return Item{Expr: source(a), chk: c}, true
		}
		if v, ok := parseLiteral(a); ok && v.numeric() {
			c.expected = v
			return Item{Expr: source(b), chk: c}, true
		}
	}
	return Item{}, false
}

// hasTopLevel reports whether one of the operators ops occurs in ts outside brackets.
func hasTopLevel(ts []tok, ops ...string) bool {
	for _, n := range topLevel(ts) {
		if ts[n].kind == 'o' && slices.Contains(ops, ts[n].s) {
			return true
		}
	}
	return false
}

// isCall reports whether ts is one call expression, as Python's ast would parse it: an atom (a
// name, a number, strings, a bracketed group) followed by trailers (.name, (...), [...]) of which
// the last is a call; `(f(x))` is a call too, `f(x)[0]`, `-f(x)`, `f(x) + 1` and `(f(x),)` are not.
func isCall(ts []tok) bool {
	closing := func(n int) int { // the index of the bracket closing ts[n], or -1
		d := 0
		for k := n; k < len(ts); k++ {
			if ts[k].kind == 'o' {
				switch ts[k].s {
				case "(", "[", "{":
					d++
				case ")", "]", "}":
					if d--; d == 0 {
						return k
					}
				}
			}
		}
		return -1
	}
	if len(ts) == 0 {
		return false
	}
	var n int // the end of the atom
	switch t := ts[0]; {
	case t.kind == 'n' && !exprKeywords[t.s] && t.s != "assert":
		n = 1
	case t.kind == '0':
		n = 1
	case t.kind == 's':
		for n < len(ts) && ts[n].kind == 's' {
			n++
		}
	case t.kind == 'o' && (t.s == "(" || t.s == "[" || t.s == "{"):
		end := closing(0)
		if end < 0 {
			return false
		}
		if end == len(ts)-1 && t.s == "(" {
			return !hasTopLevel(ts[1:end], ",") && isCall(ts[1:end]) // (f(x)), not a tuple
		}
		n = end + 1
	default:
		return false
	}
	call := false
	for n < len(ts) {
		switch {
		case ts[n].kind == 'o' && ts[n].s == "." && n+1 < len(ts) && ts[n+1].kind == 'n':
			n, call = n+2, false
		case ts[n].kind == 'o' && (ts[n].s == "(" || ts[n].s == "["):
			end := closing(n)
			if end < 0 {
				return false
			}
			n, call = end+1, ts[n].s == "("
		default:
			return false
		}
	}
	return call
}

func isOperandEnd(t tok) bool {
	return t.kind == 'n' && !exprKeywords[t.s] || t.kind == '0' || t.kind == 's' || t.kind == 'o' && (t.s == ")" || t.s == "]" || t.s == "}")
}

// splitIsClose handles the arguments of math.isclose(a, b, rel_tol=…, abs_tol=…).
func splitIsClose(args []tok) (Item, bool) {
	var parts [][]tok
	start := 0
	for _, n := range topLevel(args) {
		if args[n].kind == 'o' && args[n].s == "," {
			parts = append(parts, args[start:n])
			start = n + 1
		}
	}
	if start < len(args) {
		parts = append(parts, args[start:])
	}
	if len(parts) < 2 {
		return Item{}, false
	}
	c := check{mode: modeIsClose, relTol: 1e-9}
	for _, kw := range parts[2:] {
		if len(kw) < 3 || kw[0].kind != 'n' || kw[1].s != "=" {
			return Item{}, false
		}
		v, ok := parseLiteral(kw[2:])
		if !ok || !v.numeric() {
			return Item{}, false
		}
		switch kw[0].s {
		case "rel_tol":
			c.relTol = v.float64()
		case "abs_tol":
			c.absTol = v.float64()
		default:
			return Item{}, false
		}
	}
	for _, p := range parts[:2] {
		for _, n := range topLevel(p) {
			if p[n].kind == 'o' && p[n].s == "=" {
				return Item{}, false
			}
		}
	}
	if v, ok := parseLiteral(parts[1]); ok && v.numeric() {
		c.expected = v
		return Item{Expr: source(parts[0]), chk: c}, true
	}
	if v, ok := parseLiteral(parts[0]); ok && v.numeric() {
		c.expected = v
		return Item{Expr: source(parts[1]), chk: c}, true
	}
	return Item{}, false
}

// SplitCheckBody splits the body of HumanEval's `def check(candidate):` into items, all or
// nothing: any statement that is not a splittable assert keeps the whole check on the nonce path.
func SplitCheckBody(testSrc string) ([]Item, bool) {
	lines := strings.Split(strings.ReplaceAll(testSrc, "\r\n", "\n"), "\n")
	start := -1
	for n, l := range lines {
		if strings.TrimSpace(l) == "def check(candidate):" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			if start >= 0 {
				return nil, false // defined twice
			}
			start = n + 1
		}
	}
	if start < 0 {
		return nil, false
	}
	end := start
	for end < len(lines) {
		l := lines[end]
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			break
		}
		end++
	}
	body := strings.Join(lines[start:end], "\n")
	ts, err := tokenize(body)
	if err != nil {
		return nil, false
	}
	// The tokenizer drops layout; cut statements at depth-0 newlines, then re-split each source
	// statement on its own (tokens rendered back to source keep the meaning).
	var items []Item
	var cur []tok
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		it, ok := SplitAssert(source(cur))
		cur = nil
		if !ok {
			return false
		}
		items = append(items, it)
		return true
	}
	for _, t := range ts {
		if t.kind == 'N' {
			if !flush() {
				return nil, false
			}
			continue
		}
		cur = append(cur, t)
	}
	if !flush() || len(items) == 0 {
		return nil, false
	}
	return items, true
}
