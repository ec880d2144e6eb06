package pyliteral

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLiteral: the literal parser reads expected values out of test code (datasets and generated
// tests). Whatever it accepts must be a plain value that equals itself, has a canonical key, and
// survives the canonical encoding the sandbox child writes: what the child reports for the same
// value must compare equal to the literal, or correct candidates would FAIL.
func FuzzLiteral(f *testing.F) {
	for _, s := range []string{
		"3", "-0x10", "0b101", "0o17", "1_000", "12345678901234567890123", "0.1", "-2.5e-3", "1e999", ".5",
		"True", "False", "None", "'a\\n' 'b'", "r'a\\n'", "b'\\x00\\xff'", "'\\u00e9\\N{BULLET}'", "'''x\ny'''",
		"(4, 5)", "(4,)", "()", "[1, [2, (3,)]]", "{1: 'a', 2: 'b', 1: 'c'}", "{1, 2, 2.0, True}", "set([1, 2, 2])",
		"frozenset()", "tuple([1])", "list((1, 2))", "{}", "{(1, 2): [3]}", "{[1]: 2}", "f'{x}'", "017", "1j",
		"(", "[1,", "'", "-'a'", "set('ab')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !utf8.ValidString(src) { // Python source is UTF-8; so is the child's JSON
			return
		}
		ts, err := tokenize(src)
		if err != nil {
			return
		}
		v, ok := parseLiteral(ts)
		if !ok {
			return
		}
		_ = v.String()
		if !Equal(v, v) {
			t.Fatalf("%q: %s does not equal itself", src, v)
		}
		if _, ok := v.Key(); !ok {
			t.Fatalf("%q: a literal without a canonical key", src)
		}
		enc := childEncoding(v)
		back, err := Decode(json.RawMessage(enc))
		if err != nil {
			t.Fatalf("%q: encoded as %s, which does not decode: %v", src, enc, err)
		}
		if !Equal(back, v) || !Equal(v, back) {
			t.Fatalf("%q: %s decoded from %s is not equal to %s", src, back, enc, v)
		}
	})
}

// childEncoding writes v as child.py's enc does: ["N"], ["b",bool], ["i",hex], ["f",repr],
// ["s",str], ["y",hex], ["l"|"t"|"S",[...]], ["d",[[k,v],...]].
func childEncoding(v Value) string {
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	list := func(tag string, elems []Value) string {
		parts := make([]string, len(elems))
		for n, e := range elems {
			parts[n] = childEncoding(e)
		}
		return `["` + tag + `",[` + strings.Join(parts, ",") + "]]"
	}
	switch v.k {
	case pyNone:
		return `["N"]`
	case pyBool:
		return `["b",` + strconv.FormatBool(v.b) + "]"
	case pyInt:
		return `["i","` + v.i.Text(16) + `"]`
	case pyFloat:
		return `["f","` + strconv.FormatFloat(v.f, 'g', -1, 64) + `"]`
	case pyStr:
		return `["s",` + str(v.s) + "]"
	case pyBytes:
		return `["y","` + hex.EncodeToString([]byte(v.s)) + `"]`
	case pyList:
		return list("l", v.elems)
	case pyTuple:
		return list("t", v.elems)
	case pySet:
		return list("S", v.elems)
	case pyDict:
		parts := make([]string, len(v.elems))
		for n, k := range v.elems {
			parts[n] = "[" + childEncoding(k) + "," + childEncoding(v.vals[n]) + "]"
		}
		return `["d",[` + strings.Join(parts, ",") + "]]"
	}
	return `["X","not a plain value"]`
}
