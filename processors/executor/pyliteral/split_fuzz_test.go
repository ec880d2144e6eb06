package pyliteral

import "testing"

// The assert splitter reads test code from generated tests and datasets: it must never panic, and
// what it splits must be an expression it can read back.
func FuzzSplitAssert(f *testing.F) {
	for _, s := range []string{
		"assert f(1, 2) == 3", "assert 3 == f(1)", "assert f('a==b') == ['x', (1, -2.5), {'k': None}]",
		"assert set(f(x)) == set([1, 2])", "assert f(1) == 3, 'message'", "assert not f(1)", "assert f(1) is None",
		"assert math.isclose(f(1), 0.5, rel_tol=0.001)", "assert abs(f(1) - 0.5) < 1e-6", "assert f(1) == f'{x}'",
		"assert f(b'\\x00') == 0x1F", "assert f(1) == 1_000.5e-3j", "assert f(\"\"\"a\nb\"\"\") == '''c'''",
		"assert f(1) == {1, 2, (3,)}", "assert f(1) == -(-1)", "assert (", "assert '", "assert f(1) == [[[[[[",
		"assert f(1) == u'\\N{BULLET}'", "assert f(1) == '\\u12'", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		it, ok := SplitAssert(stmt)
		if !ok {
			return
		}
		if it.Expr == "" {
			t.Fatalf("%q split into an empty expression", stmt)
		}
		if _, err := tokenize(it.Expr); err != nil {
			t.Fatalf("%q split into %q, which does not tokenize: %v", stmt, it.Expr, err)
		}
	})
}

// HumanEval's check bodies: all or nothing, never a panic.
func FuzzSplitCheckBody(f *testing.F) {
	f.Add("def check(candidate):\n    assert candidate(1) == 2\n    assert candidate('x') == 'y'\n")
	f.Add("METADATA = {}\n\n\ndef check(candidate):\n    assert abs(candidate(1.0) - 0.5) < 1e-6\n    assert True\n")
	f.Add("def check(candidate):\n    x = 1\n    assert candidate(x)\n")
	f.Add("def check(candidate):\n\tassert candidate([1,\n\t 2]) == [\n\t1]\n")
	f.Add("def check(candidate):\ndef check(candidate):\n")
	f.Fuzz(func(t *testing.T, src string) {
		items, ok := SplitCheckBody(src)
		if !ok {
			return
		}
		for _, it := range items {
			if it.Expr == "" && it.Stmt == "" {
				t.Fatalf("%q gave an empty item", src)
			}
		}
	})
}
