package executor

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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

// item is one test as executed: Expr (split, judged in Go by chk) or Stmt (nonce path). shaped:
// the assert is `call(...) == literal` (one `==`, a call on its left, a plain value on its right),
// the shape whose returned value the behaviour features compare across candidates.
type item struct {
	Expr   string
	Stmt   string
	chk    verdictCheck
	shaped bool
}

type verdictCheck struct {
	mode           checkMode
	expected       pyValue
	relTol, absTol float64
	inclusive      bool // <= rather than <
}

// judge decides one split test from the value the sandbox reported.
func (c verdictCheck) judge(v pyValue) (bool, string) {
	if v.k == pyOpaque && (v.truth == 0 || c.mode != modeTruthy && c.mode != modeFalsy) {
		return false, "returned " + v.short() + ", not a plain value"
	}
	switch c.mode {
	case modeEq:
		if pyEqual(v, c.expected) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s, want %s", v.short(), c.expected.short())
	case modeTruthy, modeFalsy:
		t, _ := truthy(v)
		if t == (c.mode == modeTruthy) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s", v.short())
	case modeIs:
		if v.k == c.expected.k && (v.k == pyNone || v.b == c.expected.b) {
			return true, ""
		}
		return false, fmt.Sprintf("got %s, want %s", v.short(), c.expected.short())
	case modeIsClose, modeAbsTol:
		if !v.numeric() {
			return false, fmt.Sprintf("got %s, want a number close to %s", v.short(), c.expected.short())
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
		return false, fmt.Sprintf("got %s, want %s", v.short(), c.expected.short())
	}
	return false, "unknown check"
}

// ---- tokens -------------------------------------------------------------------------------

type tok struct {
	kind byte // 'n' name, '0' number, 's' string, 'o' operator, 'N' end of a logical line
	s    string
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"==", "!=", "<=", ">=", "**", "//", "->", ":=", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}

// tokenize is a small Python tokenizer: enough to find top-level operators and literals.
func tokenize(src string) ([]tok, error) {
	var out []tok
	depth := 0
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i += 2
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\n':
			if depth == 0 && len(out) > 0 && out[len(out)-1].kind != 'N' {
				out = append(out, tok{'N', ""})
			}
			i++
		case c == '"' || c == '\'':
			j, err := scanString(src, i)
			if err != nil {
				return nil, err
			}
			out = append(out, tok{'s', src[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			hexa := strings.HasPrefix(strings.ToLower(src[i:]), "0x")
			for j < len(src) && (isAlnum(src[j]) || src[j] == '_' || src[j] == '.') {
				if !hexa && (src[j] == 'e' || src[j] == 'E') && j+1 < len(src) && (src[j+1] == '+' || src[j+1] == '-') {
					j++
				}
				j++
			}
			out = append(out, tok{'0', src[i:j]})
			i = j
		case c == '_' || isAlnum(c) || c >= utf8.RuneSelf:
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += n
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character")
			}
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && isStrPrefix(src[i:j]) {
				k, err := scanString(src, j)
				if err != nil {
					return nil, err
				}
				out = append(out, tok{'s', src[i:k]})
				i = k
				continue
			}
			out = append(out, tok{'n', src[i:j]})
			i = j
		default:
			op := string(c)
			for _, o := range ops3 {
				if strings.HasPrefix(src[i:], o) {
					op = o
				}
			}
			if len(op) == 1 {
				for _, o := range ops2 {
					if strings.HasPrefix(src[i:], o) {
						op = o
					}
				}
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
				if depth < 0 {
					return nil, fmt.Errorf("unbalanced brackets")
				}
			}
			out = append(out, tok{'o', op})
			i += len(op)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced brackets")
	}
	return out, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isStrPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// scanString returns the end of the string literal whose opening quote is at i.
func scanString(src string, i int) (int, error) {
	q := src[i : i+1]
	if strings.HasPrefix(src[i:], q+q+q) {
		q = q + q + q
	}
	j := i + len(q)
	for j < len(src) {
		switch {
		case src[j] == '\\':
			j += 2
		case strings.HasPrefix(src[j:], q):
			return j + len(q), nil
		case src[j] == '\n' && len(q) == 1:
			return 0, fmt.Errorf("unterminated string")
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unterminated string")
}

// ---- literals -----------------------------------------------------------------------------

// parseLiteral parses tokens that form exactly one Python literal (numbers, strings, bytes,
// True/False/None, and tuples/lists/dicts/sets of literals, set()/frozenset()/tuple()/list() of one).
func parseLiteral(ts []tok) (pyValue, bool) {
	p := &litParser{ts: ts}
	v, ok := p.value()
	return v, ok && p.pos == len(ts)
}

type litParser struct {
	ts  []tok
	pos int
}

func (p *litParser) peek() tok {
	if p.pos < len(p.ts) {
		return p.ts[p.pos]
	}
	return tok{}
}

func (p *litParser) eat(kind byte, s string) bool {
	if t := p.peek(); t.kind == kind && t.s == s {
		p.pos++
		return true
	}
	return false
}

func (p *litParser) value() (pyValue, bool) {
	t := p.peek()
	switch {
	case t.kind == 'o' && (t.s == "-" || t.s == "+"):
		p.pos++
		n := p.peek()
		if n.kind != '0' {
			return pyValue{}, false
		}
		p.pos++
		v, ok := parseNumber(n.s)
		if ok && t.s == "-" {
			if v.k == pyInt {
				v.i.Neg(v.i)
			} else {
				v.f = -v.f
			}
		}
		return v, ok
	case t.kind == '0':
		p.pos++
		return parseNumber(t.s)
	case t.kind == 's':
		var out pyValue
		first := true
		for p.peek().kind == 's' { // adjacent literals concatenate
			v, ok := parseString(p.peek().s)
			if !ok || !first && v.k != out.k {
				return pyValue{}, false
			}
			if first {
				out = v
			} else {
				out.s += v.s
			}
			first = false
			p.pos++
		}
		return out, true
	case t.kind == 'n':
		p.pos++
		switch t.s {
		case "True", "False":
			return pyValue{k: pyBool, b: t.s == "True"}, true
		case "None":
			return pyValue{k: pyNone}, true
		case "set", "frozenset", "tuple", "list":
			if !p.eat('o', "(") {
				return pyValue{}, false
			}
			var v pyValue
			if p.eat('o', ")") {
				v = pyValue{k: pyList}
			} else {
				var ok bool
				if v, ok = p.value(); !ok || !p.eat('o', ")") {
					return pyValue{}, false
				}
			}
			if v.k != pyList && v.k != pyTuple && v.k != pySet {
				return pyValue{}, false // strings, dicts: keep it simple
			}
			switch t.s {
			case "set", "frozenset":
				return dedupSet(v.elems), true
			case "tuple":
				return pyValue{k: pyTuple, elems: v.elems}, true
			}
			return pyValue{k: pyList, elems: v.elems}, true
		}
		return pyValue{}, false
	case t.kind == 'o' && t.s == "(":
		p.pos++
		if p.eat('o', ")") {
			return pyValue{k: pyTuple}, true
		}
		v, ok := p.value()
		if !ok {
			return pyValue{}, false
		}
		if p.eat('o', ")") {
			return v, true // parenthesised, not a tuple
		}
		elems := []pyValue{v}
		for p.eat('o', ",") {
			if p.eat('o', ")") {
				return pyValue{k: pyTuple, elems: elems}, true
			}
			e, ok := p.value()
			if !ok {
				return pyValue{}, false
			}
			elems = append(elems, e)
		}
		if !p.eat('o', ")") {
			return pyValue{}, false
		}
		return pyValue{k: pyTuple, elems: elems}, true
	case t.kind == 'o' && t.s == "[":
		p.pos++
		elems, ok := p.seq("]")
		return pyValue{k: pyList, elems: elems}, ok
	case t.kind == 'o' && t.s == "{":
		p.pos++
		if p.eat('o', "}") {
			return pyValue{k: pyDict}, true
		}
		first, ok := p.value()
		if !ok {
			return pyValue{}, false
		}
		if p.eat('o', ":") { // dict
			v := pyValue{k: pyDict}
			idx := map[string]int{}
			k := first
			for {
				x, ok := p.value()
				if !ok || !hashable(k) {
					return pyValue{}, false
				}
				if n, dup := idx[hashKey(k)]; dup { // later wins, the first key object stays
					v.vals[n] = x
				} else {
					idx[hashKey(k)] = len(v.elems)
					v.elems, v.vals = append(v.elems, k), append(v.vals, x)
				}
				if p.eat('o', "}") {
					return v, true
				}
				if !p.eat('o', ",") {
					return pyValue{}, false
				}
				if p.eat('o', "}") {
					return v, true
				}
				if k, ok = p.value(); !ok || !p.eat('o', ":") {
					return pyValue{}, false
				}
			}
		}
		elems := []pyValue{first}
		if !p.eat('o', "}") {
			if !p.eat('o', ",") {
				return pyValue{}, false
			}
			rest, ok := p.seq("}")
			if !ok {
				return pyValue{}, false
			}
			elems = append(elems, rest...)
		}
		for _, e := range elems {
			if !hashable(e) {
				return pyValue{}, false
			}
		}
		return dedupSet(elems), true
	}
	return pyValue{}, false
}

// seq parses "a, b, c]" (a trailing comma allowed) after the opening bracket.
func (p *litParser) seq(closer string) ([]pyValue, bool) {
	var elems []pyValue
	for {
		if p.eat('o', closer) {
			return elems, true
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		elems = append(elems, v)
		if p.eat('o', closer) {
			return elems, true
		}
		if !p.eat('o', ",") {
			return nil, false
		}
	}
}

func hashable(v pyValue) bool {
	switch v.k {
	case pyList, pyDict, pySet, pyOpaque:
		return false
	case pyTuple:
		for _, e := range v.elems {
			if !hashable(e) {
				return false
			}
		}
	}
	return true
}

func dedupSet(elems []pyValue) pyValue {
	seen := map[string]bool{}
	v := pyValue{k: pySet}
	for _, e := range elems {
		if !seen[hashKey(e)] {
			seen[hashKey(e)] = true
			v.elems = append(v.elems, e)
		}
	}
	return v
}

func parseNumber(s string) (pyValue, bool) {
	s = strings.ReplaceAll(s, "_", "")
	low := strings.ToLower(s)
	if strings.HasSuffix(low, "j") || strings.HasSuffix(low, "l") {
		return pyValue{}, false
	}
	if strings.HasPrefix(low, "0x") || strings.HasPrefix(low, "0o") || strings.HasPrefix(low, "0b") {
		i, ok := new(big.Int).SetString(low, 0)
		return pyValue{k: pyInt, i: i}, ok
	}
	if strings.ContainsAny(low, ".e") {
		f, err := strconv.ParseFloat(low, 64)
		if err != nil && !math.IsInf(f, 0) {
			return pyValue{}, false
		}
		return pyValue{k: pyFloat, f: f}, true
	}
	if len(low) > 1 && low[0] == '0' && strings.Trim(low, "0") != "" {
		return pyValue{}, false // 017 is a syntax error in Python 3
	}
	i, ok := new(big.Int).SetString(low, 10)
	return pyValue{k: pyInt, i: i}, ok
}

// parseString decodes a str or bytes literal token (f-strings are not literals).
func parseString(t string) (pyValue, bool) {
	q := strings.IndexAny(t, "'\"")
	prefix := strings.ToLower(t[:q])
	if strings.Contains(prefix, "f") {
		return pyValue{}, false
	}
	body := t[q:]
	ql := 1
	if len(body) >= 6 && (strings.HasPrefix(body, `"""`) || strings.HasPrefix(body, `'''`)) {
		ql = 3
	}
	body = body[ql : len(body)-ql]
	isBytes := strings.Contains(prefix, "b")
	kind := pyStr
	if isBytes {
		kind = pyBytes
		for i := 0; i < len(body); i++ {
			if body[i] >= 0x80 {
				return pyValue{}, false
			}
		}
	}
	if strings.Contains(prefix, "r") {
		return pyValue{k: kind, s: body}, true
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		e := body[i]
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(body) && j < i+3 && body[j] >= '0' && body[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(body[i:j], 8, 32)
			writeCode(&b, rune(n), isBytes)
			i = j - 1
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if isBytes && e != 'x' {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			if i+1+width > len(body) {
				return pyValue{}, false
			}
			n, err := strconv.ParseUint(body[i+1:i+1+width], 16, 32)
			if err != nil || n > unicode.MaxRune || n >= 0xD800 && n < 0xE000 {
				return pyValue{}, false
			}
			writeCode(&b, rune(n), isBytes)
			i += width
		case 'N':
			return pyValue{}, false
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return pyValue{k: kind, s: b.String()}, true
}

func writeCode(b *strings.Builder, r rune, isBytes bool) {
	if isBytes {
		b.WriteByte(byte(r))
	} else {
		b.WriteRune(r)
	}
}

// ---- asserts ------------------------------------------------------------------------------

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

// splitAssert turns one assert statement into an item; ok is false when it must stay a statement.
func splitAssert(stmt string) (item, bool) {
	ts, err := tokenize(stmt)
	if err != nil {
		return item{}, false
	}
	for len(ts) > 0 && ts[len(ts)-1].kind == 'N' {
		ts = ts[:len(ts)-1]
	}
	if len(ts) < 2 || ts[0].kind != 'n' || ts[0].s != "assert" {
		return item{}, false
	}
	ts = ts[1:]
	for _, n := range topLevel(ts) { // one statement only, message included
		if ts[n].kind == 'N' || ts[n].kind == 'o' && ts[n].s == ";" {
			return item{}, false
		}
	}
	for _, n := range topLevel(ts) { // the message after a top-level comma is only shown on failure
		if ts[n].kind == 'o' && ts[n].s == ":=" {
			return item{}, false
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
		return item{}, false
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
		return item{Expr: source(ts), chk: verdictCheck{mode: modeTruthy}}, true
	case len(cmps) == 0 && len(kws) == 1 && kws[0] == 0 && ts[0].s == "not" && len(ts) > 1:
		return item{Expr: source(ts[1:]), chk: verdictCheck{mode: modeFalsy}}, true
	case len(cmps) == 0 && len(kws) == 1 && ts[kws[0]].s == "is" && kws[0] == len(ts)-2 && kws[0] > 0:
		v, ok := parseLiteral(ts[len(ts)-1:])
		if !ok || v.k != pyBool && v.k != pyNone {
			return item{}, false
		}
		return item{Expr: source(ts[:kws[0]]), chk: verdictCheck{mode: modeIs, expected: v}}, true
	case len(cmps) == 1 && len(kws) == 0 && ts[cmps[0]].s == "==":
		l, r := ts[:cmps[0]], ts[cmps[0]+1:]
		if len(l) == 0 || len(r) == 0 {
			return item{}, false
		}
		if v, ok := parseLiteral(r); ok {
			return item{Expr: source(l), chk: verdictCheck{mode: modeEq, expected: v}, shaped: isCall(l)}, true
		}
		if v, ok := parseLiteral(l); ok {
			return item{Expr: source(r), chk: verdictCheck{mode: modeEq, expected: v}}, true
		}
	case len(cmps) == 1 && len(kws) == 0 && (ts[cmps[0]].s == "<" || ts[cmps[0]].s == "<="):
		l, r := ts[:cmps[0]], ts[cmps[0]+1:]
		tol, ok := parseLiteral(r)
		if !ok || !tol.numeric() || len(l) < 4 || l[0].s != "abs" || l[1].s != "(" || l[len(l)-1].s != ")" {
			return item{}, false
		}
		inner := l[2 : len(l)-1]
		if len(topLevel(l[1:])) != 1 { // abs( ... ) must be one call
			return item{}, false
		}
		minus := -1
		for _, n := range topLevel(inner) {
			t := inner[n]
			if t.kind == 'o' && t.s == "-" && n > 0 && isOperandEnd(inner[n-1]) {
				if minus >= 0 {
					return item{}, false
				}
				minus = n
			} else if t.kind == 'o' && (t.s == "+" || t.s == "-" && n > 0 && isOperandEnd(inner[n-1]) || compareOps[t.s] || t.s == "," || t.s == "|" || t.s == "&" || t.s == "^" || t.s == "<<" || t.s == ">>") ||
				t.kind == 'n' && exprKeywords[t.s] {
				return item{}, false
			}
		}
		if minus <= 0 {
			return item{}, false
		}
		a, b := inner[:minus], inner[minus+1:]
		c := verdictCheck{mode: modeAbsTol, absTol: tol.float64(), inclusive: ts[cmps[0]].s == "<="}
		if v, ok := parseLiteral(b); ok && v.numeric() {
			c.expected = v
			return item{Expr: source(a), chk: c}, true
		}
		if v, ok := parseLiteral(a); ok && v.numeric() {
			c.expected = v
			return item{Expr: source(b), chk: c}, true
		}
	}
	return item{}, false
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
func splitIsClose(args []tok) (item, bool) {
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
		return item{}, false
	}
	c := verdictCheck{mode: modeIsClose, relTol: 1e-9}
	for _, kw := range parts[2:] {
		if len(kw) < 3 || kw[0].kind != 'n' || kw[1].s != "=" {
			return item{}, false
		}
		v, ok := parseLiteral(kw[2:])
		if !ok || !v.numeric() {
			return item{}, false
		}
		switch kw[0].s {
		case "rel_tol":
			c.relTol = v.float64()
		case "abs_tol":
			c.absTol = v.float64()
		default:
			return item{}, false
		}
	}
	for _, p := range parts[:2] {
		for _, n := range topLevel(p) {
			if p[n].kind == 'o' && p[n].s == "=" {
				return item{}, false
			}
		}
	}
	if v, ok := parseLiteral(parts[1]); ok && v.numeric() {
		c.expected = v
		return item{Expr: source(parts[0]), chk: c}, true
	}
	if v, ok := parseLiteral(parts[0]); ok && v.numeric() {
		c.expected = v
		return item{Expr: source(parts[1]), chk: c}, true
	}
	return item{}, false
}

// splitCheckBody splits the body of HumanEval's `def check(candidate):` into items, all or
// nothing: any statement that is not a splittable assert keeps the whole check on the nonce path.
func splitCheckBody(testSrc string) ([]item, bool) {
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
	var items []item
	var cur []tok
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		it, ok := splitAssert(source(cur))
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
