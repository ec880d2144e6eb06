// Package pyliteral reads the small part of Python the executor judges outside the sandbox: plain
// values (a literal in a test's source, or the canonical encoding of what an expression returned in
// the sandbox), Python's == on them, and asserts split into a call expression and its expected value.
// It runs no Python: anything it does not fully understand is left to run as a statement.
package pyliteral

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// pyKind is the type of a plain Python value. set and frozenset share pySet: they compare equal.
type pyKind byte

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStr
	pyBytes
	pyList
	pyTuple
	pyDict
	pySet
	pyOpaque // anything else: never equal to an expected value
)

// Value is a plain Python value, either parsed from a test's expected literal (Go side) or
// decoded from the canonical encoding a child reported. Equality follows Python's ==.
type Value struct {
	k     pyKind
	b     bool
	i     *big.Int
	f     float64
	s     string // str, bytes, or why a value is opaque
	truth int8   // opaque values of builtin types: 1 true, -1 false, 0 unknown
	elems []Value
	vals  []Value // dict values, parallel to elems (the keys)
}

// Decode reads the child's encoding: ["N"], ["b",bool], ["i",hex], ["f",repr], ["s",str],
// ["y",hex], ["l"|"t"|"S"|"F",[...]], ["d",[[k,v],...]], ["X",why].
func Decode(raw json.RawMessage) (Value, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) == 0 {
		return Value{}, fmt.Errorf("bad value encoding")
	}
	var tag string
	if err := json.Unmarshal(arr[0], &tag); err != nil {
		return Value{}, fmt.Errorf("bad value tag")
	}
	arg := func(v any) error {
		if len(arr) != 2 {
			return fmt.Errorf("bad value %q", tag)
		}
		return json.Unmarshal(arr[1], v)
	}
	list := func(k pyKind) (Value, error) {
		var xs []json.RawMessage
		if err := arg(&xs); err != nil {
			return Value{}, err
		}
		v := Value{k: k, elems: make([]Value, len(xs))}
		for n, x := range xs {
			e, err := Decode(x)
			if err != nil {
				return Value{}, err
			}
			v.elems[n] = e
		}
		return v, nil
	}
	switch tag {
	case "N":
		return Value{k: pyNone}, nil
	case "b":
		var b bool
		err := arg(&b)
		return Value{k: pyBool, b: b}, err
	case "i", "f", "s", "y":
		var s string
		if err := arg(&s); err != nil {
			return Value{}, err
		}
		return decodeStringArg(tag, s)
	case "l":
		return list(pyList)
	case "t":
		return list(pyTuple)
	case "S", "F":
		return list(pySet)
	case "d":
		var kvs [][2]json.RawMessage
		if err := arg(&kvs); err != nil {
			return Value{}, err
		}
		v := Value{k: pyDict}
		for _, kv := range kvs {
			k, err := Decode(kv[0])
			if err != nil {
				return Value{}, err
			}
			x, err := Decode(kv[1])
			if err != nil {
				return Value{}, err
			}
			v.elems, v.vals = append(v.elems, k), append(v.vals, x)
		}
		return v, nil
	case "X":
		v := Value{k: pyOpaque}
		if len(arr) >= 2 {
			_ = json.Unmarshal(arr[1], &v.s)
		}
		if len(arr) == 3 {
			var t int
			_ = json.Unmarshal(arr[2], &t)
			v.truth = map[int]int8{0: -1, 1: 1}[t]
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("bad value tag %q", tag)
}

// decodeStringArg is the value of a tag whose argument is a string: an int in hex, a float's repr,
// a str, or bytes in hex.
func decodeStringArg(tag, s string) (Value, error) {
	switch tag {
	case "i":
		i, ok := new(big.Int).SetString(s, 16)
		if !ok {
			return Value{}, fmt.Errorf("bad int %q", s)
		}
		return Value{k: pyInt, i: i}, nil
	case "f":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !strings.Contains(s, "inf") && !strings.Contains(s, "nan") {
			return Value{}, fmt.Errorf("bad float %q", s)
		}
		return Value{k: pyFloat, f: f}, nil
	case "y":
		b, err := hex.DecodeString(s)
		return Value{k: pyBytes, s: string(b)}, err
	}
	return Value{k: pyStr, s: s}, nil
}

// IsNone reports whether v is None.
func (v Value) IsNone() bool { return v.k == pyNone }

func (v Value) numeric() bool { return v.k == pyBool || v.k == pyInt || v.k == pyFloat }

// bigFloat returns an exact big.Float of a finite numeric value.
func (v Value) bigFloat() *big.Float {
	switch v.k {
	case pyBool:
		if v.b {
			return big.NewFloat(1)
		}
		return big.NewFloat(0)
	case pyInt:
		return new(big.Float).SetInt(v.i)
	}
	return big.NewFloat(v.f)
}

func (v Value) float64() float64 {
	if v.k == pyFloat {
		return v.f
	}
	f, _ := v.bigFloat().Float64()
	return f
}

// Equal is Python's a == b for plain values; opaque values equal nothing.
func Equal(a, b Value) bool {
	if a.numeric() && b.numeric() {
		if a.k == pyFloat && (math.IsNaN(a.f) || math.IsInf(a.f, 0)) || b.k == pyFloat && (math.IsNaN(b.f) || math.IsInf(b.f, 0)) {
			return a.k == pyFloat && b.k == pyFloat && a.f == b.f
		}
		return a.bigFloat().Cmp(b.bigFloat()) == 0
	}
	if a.k != b.k {
		return false
	}
	switch a.k {
	case pyNone:
		return true
	case pyStr, pyBytes:
		return a.s == b.s
	case pyList, pyTuple:
		if len(a.elems) != len(b.elems) {
			return false
		}
		for n := range a.elems {
			if !Equal(a.elems[n], b.elems[n]) {
				return false
			}
		}
		return true
	case pySet, pyDict: // the same keys (elements), and for a dict equal values under each
		if len(a.elems) != len(b.elems) {
			return false
		}
		idx := keyIndex(b.elems)
		for n, k := range a.elems {
			m, ok := idx[hashKey(k)]
			if !ok || a.k == pyDict && !Equal(a.vals[n], b.vals[m]) {
				return false
			}
		}
		return true
	}
	return false
}

func keyIndex(keys []Value) map[string]int {
	m := make(map[string]int, len(keys))
	for n, k := range keys {
		m[hashKey(k)] = n
	}
	return m
}

// hashKey maps hashable plain values that Python considers equal (1, 1.0, True) to one string.
func hashKey(v Value) string {
	switch v.k {
	case pyNone:
		return "N"
	case pyBool, pyInt, pyFloat:
		if v.k == pyFloat {
			if math.IsNaN(v.f) || math.IsInf(v.f, 0) || v.f != math.Trunc(v.f) {
				return "f" + strconv.FormatFloat(v.f, 'g', -1, 64)
			}
		}
		i, _ := v.bigFloat().Int(nil)
		return "n" + i.String()
	case pyStr:
		return "s" + strconv.Quote(v.s)
	case pyBytes:
		return "y" + strconv.Quote(v.s)
	case pyTuple, pySet:
		parts := make([]string, len(v.elems))
		for n, e := range v.elems {
			parts[n] = hashKey(e)
		}
		if v.k == pyTuple {
			return "t(" + strings.Join(parts, ",") + ")"
		}
		sort.Strings(parts)
		return "F(" + strings.Join(parts, ",") + ")"
	}
	return fmt.Sprintf("?%d", v.k) // unhashable in Python; never a key of a real value
}

// truthy is Python's bool(v) for plain values; ok is false for opaque values.
func truthy(v Value) (bool, bool) {
	switch v.k {
	case pyNone:
		return false, true
	case pyBool:
		return v.b, true
	case pyInt:
		return v.i.Sign() != 0, true
	case pyFloat:
		return v.f != 0, true
	case pyStr, pyBytes:
		return v.s != "", true
	case pyList, pyTuple, pySet, pyDict:
		return len(v.elems) > 0, true
	}
	return v.truth > 0, v.truth != 0
}

// String renders a value for failure details.
func (v Value) String() string {
	var s string
	switch v.k {
	case pyNone:
		s = "None"
	case pyBool:
		s = map[bool]string{true: "True", false: "False"}[v.b]
	case pyInt:
		s = v.i.String()
	case pyFloat:
		s = strconv.FormatFloat(v.f, 'g', -1, 64)
	case pyStr:
		s = strconv.Quote(v.s)
	case pyBytes:
		s = "b" + strconv.Quote(v.s)
	case pyOpaque:
		s = "<" + v.s + ">"
	default:
		open, close := map[pyKind]string{pyList: "[", pyTuple: "(", pySet: "{", pyDict: "{"}[v.k], map[pyKind]string{pyList: "]", pyTuple: ")", pySet: "}", pyDict: "}"}[v.k]
		var parts []string
		for n, e := range v.elems {
			if n == 8 {
				parts = append(parts, "…")
				break
			}
			if v.k == pyDict {
				parts = append(parts, e.String()+": "+v.vals[n].String())
			} else {
				parts = append(parts, e.String())
			}
		}
		s = open + strings.Join(parts, ", ") + close
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Key renders a plain value so that values Python considers equal render alike: numbers
// by value (1, 1.0, True), sets and dict items in sorted order. ok is false for a value that is
// not plain, at any depth.
func (v Value) Key() (string, bool) {
	switch v.k {
	case pyOpaque:
		return "", false
	case pyList, pyTuple, pySet:
		parts := make([]string, len(v.elems))
		for n, e := range v.elems {
			s, ok := e.Key()
			if !ok {
				return "", false
			}
			parts[n] = s
		}
		if v.k == pySet {
			sort.Strings(parts)
		}
		open := map[pyKind]string{pyList: "l[", pyTuple: "t(", pySet: "F("}[v.k]
		return open + strings.Join(parts, ",") + ")", true
	case pyDict:
		parts := make([]string, len(v.elems))
		for n, e := range v.elems {
			k, ok := e.Key()
			x, ok2 := v.vals[n].Key()
			if !ok || !ok2 {
				return "", false
			}
			parts[n] = k + ":" + x
		}
		sort.Strings(parts)
		return "d{" + strings.Join(parts, ",") + "}", true
	}
	return hashKey(v), true
}
