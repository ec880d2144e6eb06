package schemas

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func sampleVerdict() Verdict {
	return Verdict{
		CandidateID: "c1", RequestID: "r1", ProblemID: "HumanEval/0", Benchmark: "humaneval", Split: "test",
		Model: "codegen-16b", SampleIndex: 3, Label: Fail, FailureKind: KindAssertion, Detail: "AssertionError",
		Tests:     []TestOutcome{{Index: 0, Passed: true, Kind: KindNone}, {Index: 1, Passed: false, Kind: KindAssertion, Message: "x"}},
		RuntimeMs: 12.5, ExecutorVersion: "simple-1", TestSuiteHash: "abc", CodeSHA256: "def", ExecutedAtMs: 42,
	}
}

func TestRoundTripAllTypes(t *testing.T) {
	c, err := NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	v := sampleVerdict()
	b, err := c.Verdict.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xc3 || b[1] != 0x01 {
		t.Fatalf("not single-object encoded: % x", b[:2])
	}
	got, err := c.Verdict.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("verdict round trip:\n got %+v\nwant %+v", got, v)
	}

	p := Problem{ProblemID: "mbpp/601", Benchmark: "mbpp", Split: "train", Prompt: "Write", Tests: []string{"assert f(1) == 1"},
		TestImports: []string{"import math"}, TestStyle: StyleAsserts, TimeoutMs: 3000}
	p.TestSuiteHash = p.SuiteHash()
	pb, err := c.Problem.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if gp, err := c.Problem.Decode(pb); err != nil || !reflect.DeepEqual(gp, p) {
		t.Fatalf("problem round trip: %v %+v", err, gp)
	}

	cand := Candidate{CandidateID: CandidateID("r1", 2), RequestID: "r1", ProblemID: "mbpp/601", SampleIndex: 2, Code: "def f(x):\n  return x\n", Model: "m", Source: "replay", Temperature: 0.8, TopP: 0.95}
	cb, err := c.Candidate.Encode(cand)
	if err != nil {
		t.Fatal(err)
	}
	if gc, err := c.Candidate.Decode(cb); err != nil || !reflect.DeepEqual(gc, cand) {
		t.Fatalf("candidate round trip: %v %+v", err, gc)
	}

	pr := Prompt{RequestID: "r1", ProblemID: "mbpp/601", Purpose: "train", N: 100, Temperature: 1, TopP: 1, MaxTokens: 512, Model: "deepseek"}
	prb, err := c.Prompt.Encode(pr)
	if err != nil {
		t.Fatal(err)
	}
	if gpr, err := c.Prompt.Decode(prb); err != nil || !reflect.DeepEqual(gpr, pr) {
		t.Fatalf("prompt round trip: %v %+v", err, gpr)
	}
}

// v2 of Verdict adds an optional field with a default; a v2 reader must decode v1 messages.
func TestReaderV2DecodesV1(t *testing.T) {
	v1 := SchemaText("verdict")
	i := strings.LastIndex(v1, "]")
	v2 := v1[:i] + `, {"name": "sandbox", "type": "string", "default": "unknown"}` + v1[i:]

	type verdictV2 struct {
		Verdict
		Sandbox string
	}
	to := func(v verdictV2) map[string]any {
		m := verdictToNative(v.Verdict)
		m["sandbox"] = v.Sandbox
		return m
	}
	from := func(m map[string]any) (verdictV2, error) {
		v, err := verdictFromNative(m)
		s, _ := m["sandbox"].(string)
		return verdictV2{Verdict: v, Sandbox: s}, err
	}
	writerV1, err := NewCodec(v1, verdictToNative, verdictFromNative)
	if err != nil {
		t.Fatal(err)
	}
	readerV2, err := NewCodec(v2, to, from, v1)
	if err != nil {
		t.Fatal(err)
	}
	if writerV1.Fingerprint() == readerV2.Fingerprint() {
		t.Fatal("v1 and v2 must have different fingerprints")
	}
	b, err := writerV1.Encode(sampleVerdict())
	if err != nil {
		t.Fatal(err)
	}
	got, err := readerV2.Decode(b)
	if err != nil {
		t.Fatalf("v2 reader on v1 message: %v", err)
	}
	if got.Sandbox != "unknown" || !reflect.DeepEqual(got.Verdict, sampleVerdict()) {
		t.Fatalf("got %+v", got)
	}
	// And v2 messages round-trip with the new field.
	b2, err := readerV2.Encode(verdictV2{Verdict: sampleVerdict(), Sandbox: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readerV2.Decode(b2); err != nil || got.Sandbox != "ns" {
		t.Fatalf("v2 round trip: %v %+v", err, got)
	}
	// A v1-only reader does not know v2's fingerprint: a clear error, not garbage.
	if _, err := writerV1.Decode(b2); err == nil || !strings.Contains(err.Error(), "unknown schema fingerprint") {
		t.Fatalf("v1 reader on v2 message: %v", err)
	}
}

func TestJunkGivesClearError(t *testing.T) {
	c, err := NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	good, _ := c.Verdict.Encode(sampleVerdict())
	cases := map[string][]byte{
		"empty":        nil,
		"text":         []byte("hello, this is not avro"),
		"magic only":   {0xc3, 0x01},
		"truncated":    good[:len(good)/2],
		"trailing":     append(append([]byte{}, good...), 1, 2, 3),
		"wrong schema": mustEncode(t, c.Candidate, Candidate{CandidateID: "x", ProblemID: "y"}),
	}
	for name, b := range cases {
		if _, err := c.Verdict.Decode(b); err == nil || !errors.Is(err, ErrDecode) {
			t.Errorf("%s: want ErrDecode, got %v", name, err)
		}
	}
	// Random bytes behind a valid header must never panic.
	rng := rand.New(rand.NewSource(1))
	hdr := good[:10]
	for i := 0; i < 20000; i++ {
		body := make([]byte, rng.Intn(64))
		rng.Read(body)
		_, _ = c.Verdict.Decode(append(append([]byte{}, hdr...), body...))
	}
}

func FuzzDecodeVerdict(f *testing.F) {
	c, err := NewCodecs()
	if err != nil {
		f.Fatal(err)
	}
	good, _ := c.Verdict.Encode(sampleVerdict())
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := c.Verdict.Decode(b)
		if err == nil { // whatever decodes must re-encode
			if _, err := c.Verdict.Encode(v); err != nil {
				t.Fatalf("decoded but cannot re-encode: %v", err)
			}
		}
	})
}

func mustEncode[T any](t *testing.T, c *Codec[T], v T) []byte {
	t.Helper()
	b, err := c.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
