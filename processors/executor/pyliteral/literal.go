package pyliteral

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// parseLiteral parses tokens that form exactly one Python literal (numbers, strings, bytes,
// True/False/None, and tuples/lists/dicts/sets of literals, set()/frozenset()/tuple()/list() of one).
func parseLiteral(ts []tok) (Value, bool) {
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

func (p *litParser) value() (Value, bool) {
	t := p.peek()
	switch {
	case t.kind == 'o' && (t.s == "-" || t.s == "+"):
		p.pos++
		n := p.peek()
		if n.kind != '0' {
			return Value{}, false
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
		var out Value
		first := true
		for p.peek().kind == 's' { // adjacent literals concatenate
			v, ok := parseString(p.peek().s)
			if !ok || !first && v.k != out.k {
				return Value{}, false
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
			return Value{k: pyBool, b: t.s == "True"}, true
		case "None":
			return Value{k: pyNone}, true
		case "set", "frozenset", "tuple", "list":
			if !p.eat('o', "(") {
				return Value{}, false
			}
			var v Value
			if p.eat('o', ")") {
				v = Value{k: pyList}
			} else {
				var ok bool
				if v, ok = p.value(); !ok || !p.eat('o', ")") {
					return Value{}, false
				}
			}
			if v.k != pyList && v.k != pyTuple && v.k != pySet {
				return Value{}, false // strings, dicts: keep it simple
			}
			switch t.s {
			case "set", "frozenset":
				return dedupSet(v.elems), true
			case "tuple":
				return Value{k: pyTuple, elems: v.elems}, true
			}
			return Value{k: pyList, elems: v.elems}, true
		}
		return Value{}, false
	case t.kind == 'o' && t.s == "(":
		p.pos++
		if p.eat('o', ")") {
			return Value{k: pyTuple}, true
		}
		v, ok := p.value()
		if !ok {
			return Value{}, false
		}
		if p.eat('o', ")") {
			return v, true // parenthesised, not a tuple
		}
		elems, ok := p.rest(v, ")")
		if !ok {
			return Value{}, false
		}
		return Value{k: pyTuple, elems: elems}, true
	case t.kind == 'o' && t.s == "[":
		p.pos++
		elems, ok := p.seq("]")
		return Value{k: pyList, elems: elems}, ok
	case t.kind == 'o' && t.s == "{":
		p.pos++
		if p.eat('o', "}") {
			return Value{k: pyDict}, true
		}
		first, ok := p.value()
		if !ok {
			return Value{}, false
		}
		if p.eat('o', ":") { // dict
			v := Value{k: pyDict}
			idx := map[string]int{}
			k := first
			for {
				x, ok := p.value()
				if !ok || !hashable(k) {
					return Value{}, false
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
					return Value{}, false
				}
				if p.eat('o', "}") {
					return v, true
				}
				if k, ok = p.value(); !ok || !p.eat('o', ":") {
					return Value{}, false
				}
			}
		}
		elems, ok := p.rest(first, "}")
		if !ok {
			return Value{}, false
		}
		for _, e := range elems {
			if !hashable(e) {
				return Value{}, false
			}
		}
		return dedupSet(elems), true
	}
	return Value{}, false
}

// rest parses what follows the first element of a bracketed sequence: the closer, or a comma and
// the other elements.
func (p *litParser) rest(first Value, closer string) ([]Value, bool) {
	if p.eat('o', closer) {
		return []Value{first}, true
	}
	if !p.eat('o', ",") {
		return nil, false
	}
	more, ok := p.seq(closer)
	return append([]Value{first}, more...), ok
}

// seq parses "a, b, c]" (a trailing comma allowed) after the opening bracket.
func (p *litParser) seq(closer string) ([]Value, bool) {
	var elems []Value
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

func hashable(v Value) bool {
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

func dedupSet(elems []Value) Value {
	seen := map[string]bool{}
	v := Value{k: pySet}
	for _, e := range elems {
		if !seen[hashKey(e)] {
			seen[hashKey(e)] = true
			v.elems = append(v.elems, e)
		}
	}
	return v
}

func parseNumber(s string) (Value, bool) {
	s = strings.ReplaceAll(s, "_", "")
	low := strings.ToLower(s)
	if strings.HasSuffix(low, "j") || strings.HasSuffix(low, "l") {
		return Value{}, false
	}
	if strings.HasPrefix(low, "0x") || strings.HasPrefix(low, "0o") || strings.HasPrefix(low, "0b") {
		i, ok := new(big.Int).SetString(low, 0)
		return Value{k: pyInt, i: i}, ok
	}
	if strings.ContainsAny(low, ".e") {
		f, err := strconv.ParseFloat(low, 64)
		if err != nil && !math.IsInf(f, 0) {
			return Value{}, false
		}
		return Value{k: pyFloat, f: f}, true
	}
	if len(low) > 1 && low[0] == '0' && strings.Trim(low, "0") != "" {
		return Value{}, false // 017 is a syntax error in Python 3
	}
	i, ok := new(big.Int).SetString(low, 10)
	return Value{k: pyInt, i: i}, ok
}

// parseString decodes a str or bytes literal token (f-strings are not literals).
func parseString(t string) (Value, bool) {
	q := strings.IndexAny(t, "'\"")
	prefix := strings.ToLower(t[:q])
	if strings.Contains(prefix, "f") {
		return Value{}, false
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
				return Value{}, false
			}
		}
	}
	if strings.Contains(prefix, "r") {
		return Value{k: kind, s: body}, true
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
				return Value{}, false
			}
			n, err := strconv.ParseUint(body[i+1:i+1+width], 16, 32)
			if err != nil || n > unicode.MaxRune || n >= 0xD800 && n < 0xE000 {
				return Value{}, false
			}
			writeCode(&b, rune(n), isBytes)
			i += width
		case 'N':
			return Value{}, false
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return Value{k: kind, s: b.String()}, true
}

func writeCode(b *strings.Builder, r rune, isBytes bool) {
	if isBytes {
		b.WriteByte(byte(r))
	} else {
		b.WriteRune(r)
	}
}
