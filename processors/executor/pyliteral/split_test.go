package pyliteral

import (
	"encoding/json"
	"testing"
)

func TestSplitAssert(t *testing.T) {
	cases := []struct {
		stmt, expr string
		mode       checkMode
		ok, shaped bool // shaped: ast's Compare with one ==, a Call on the left (and a literal right)
	}{
		{"assert f(1, 2) == 3", "f ( 1 , 2 )", modeEq, true, true},
		{"assert 3 == f(1)", "f ( 1 )", modeEq, true, false}, // the call is on the right
		{"assert f('a==b') == ['x', (1, -2.5), {'k': None}]", "f ( 'a==b' )", modeEq, true, true},
		{"assert set(f(x)) == set([1, 2])", "set ( f ( x ) )", modeEq, true, true},
		{"assert sorted(f(x)) == [1, 2]", "sorted ( f ( x ) )", modeEq, true, true},
		{"assert f(1) == 3, 'message'", "f ( 1 )", modeEq, true, true},
		{"assert \t(f(1) == 3), 'message'", "f ( 1 )", modeEq, true, true}, // parentheses around the test
		{"assert ((f(1)) == 3)", "( f ( 1 ) )", modeEq, true, true},
		{"assert (f(1), 3)", "( f ( 1 ) , 3 )", modeTruthy, true, false}, // a tuple: always true
		{"assert (x := f(1)) == 3", "( x := f ( 1 ) )", modeEq, true, false},
		{"assert obj.f(1).strip() == 'a'", "obj . f ( 1 ) . strip ( )", modeEq, true, true},
		{"assert 'a'.join(f(1)) == 'a'", "'a' . join ( f ( 1 ) )", modeEq, true, true},
		{"assert f(1)(2) == 3", "f ( 1 ) ( 2 )", modeEq, true, true},
		{"assert f(1)[0] == 3", "f ( 1 ) [ 0 ]", modeEq, true, false},    // a subscript
		{"assert f(1).real == 3", "f ( 1 ) . real", modeEq, true, false}, // an attribute
		{"assert -f(1) == 3", "- f ( 1 )", modeEq, true, false},
		{"assert f(1) + 1 == 3", "f ( 1 ) + 1", modeEq, true, false},
		{"assert x == 3", "x", modeEq, true, false},
		{"assert [f(1)] == [3]", "[ f ( 1 ) ]", modeEq, true, false},
		{"assert (f(1),) == (3,)", "( f ( 1 ) , )", modeEq, true, false},
		{"assert f(1)", "f ( 1 )", modeTruthy, true, false},
		{"assert not f(1)", "f ( 1 )", modeFalsy, true, false},
		{"assert f(1) is None", "f ( 1 )", modeIs, true, false},
		{"assert math.isclose(f(1), 0.5, rel_tol=0.001)", "f ( 1 )", modeIsClose, true, false},
		{"assert abs(f(1) - 0.5) < 1e-6", "f ( 1 )", modeAbsTol, true, false},
		{"assert f(1) == g(2)", "", 0, false, false},            // expected is not a literal
		{"assert f(1) == 3 and g(2) == 4", "", 0, false, false}, // two comparisons
		{"assert f(1) and g(2) == 4", "", 0, false, false},      // precedence: and binds looser
		{"assert f(1) == 1 if x else 2", "", 0, false, false},   // conditional expression
		{"assert f(1) == 3; import os", "", 0, false, false},    // two statements
		{"assert f(1) == 3, 'm'\nimport os", "", 0, false, false},
		{"assert f(1) == 3, 'm'; import os", "", 0, false, false},
		{"assert f(1) == f'{x}'", "", 0, false, false},       // f-string is no literal
		{"assert f(1) == float('inf')", "", 0, false, false}, // call is no literal
		{"x = f(1)", "", 0, false, false},                    // not an assert
		{"assert abs(f(1) - g(1) - 0.5) < 1e-6", "", 0, false, false},
	}
	for _, c := range cases {
		it, ok := SplitAssert(c.stmt)
		if ok != c.ok || ok && (it.Expr != c.expr || it.chk.mode != c.mode || it.Shaped != c.shaped) {
			t.Errorf("%q: got %q mode %d ok %v shaped %v, want %q mode %d ok %v shaped %v", c.stmt, it.Expr, it.chk.mode, ok, it.Shaped, c.expr, c.mode, c.ok, c.shaped)
		}
	}
}

func TestLiteralsAndEquality(t *testing.T) {
	lit := func(src string) Value {
		ts, err := tokenize(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		v, ok := parseLiteral(ts)
		if !ok {
			t.Fatalf("%q: not a literal", src)
		}
		return v
	}
	canon := func(enc string) Value {
		v, err := Decode(json.RawMessage(enc))
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		return v
	}
	cases := []struct {
		literal, enc string
		equal        bool
	}{
		{"3", `["i","3"]`, true},
		{"3", `["f","3.0"]`, true},
		{"1", `["b",true]`, true},
		{"-0x10", `["i","-10"]`, true},
		{"3", `["i","4"]`, false},
		{"0.1", `["f","0.1"]`, true},
		{"(4, 5)", `["t",[["i","4"],["i","5"]]]`, true},
		{"[4, 5]", `["t",[["i","4"],["i","5"]]]`, false},
		{"{1: 'a', 2: 'b'}", `["d",[[["i","2"],["s","b"]],[["i","1"],["s","a"]]]]`, true},
		{"{1, 2}", `["S",[["i","2"],["f","1.0"]]]`, true},
		{"set([1, 2, 2])", `["S",[["i","2"],["i","1"]]]`, true},
		{"'a\\n' 'b'", `["s","a\nb"]`, true},
		{"r'a\\n'", `["s","a\\n"]`, true},
		{"b'\\x00'", `["y","00"]`, true},
		{"'x'", `["y","78"]`, false},
		{"None", `["N"]`, true},
		{"3", `["X","custom comparison"]`, false},
		{"12345678901234567890123", `["i","29d42b64e76714244cb"]`, true},
	}
	for _, c := range cases {
		if got := Equal(canon(c.enc), lit(c.literal)); got != c.equal {
			t.Errorf("%s == %s: got %v, want %v", c.enc, c.literal, got, c.equal)
		}
	}
}
