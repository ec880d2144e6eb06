package schemas

import (
	"bytes"
	"errors"
	"testing"
)

// Fuzzing the decoders of every event type (Verdict has its own, FuzzDecodeVerdict): bytes off a
// topic never panic a decoder, a failure is ErrDecode, and whatever decodes re-encodes to bytes
// that decode to the same encoding again (the round trip is stable).

func fuzzCodec[T any](f *testing.F, c *Codec[T], seeds ...T) {
	f.Helper()
	for _, s := range seeds {
		b, err := c.Encode(s)
		if err != nil {
			f.Fatalf("seed %+v: %v", s, err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:min(len(b), 10)]) // the single-object header alone
	}
	f.Add([]byte{})
	f.Add([]byte{0xc3, 0x01})
	f.Add([]byte("not avro at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := c.Decode(b)
		if err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("decode failed without ErrDecode: %v", err)
			}
			return
		}
		b2, err := c.Encode(v)
		if err != nil {
			t.Fatalf("decoded %+v but cannot re-encode it: %v", v, err)
		}
		v2, err := c.Decode(b2)
		if err != nil {
			t.Fatalf("re-encoded bytes do not decode: %v", err)
		}
		b3, err := c.Encode(v2)
		if err != nil || !bytes.Equal(b2, b3) {
			t.Fatalf("round trip not stable: %v\n%x\n%x", err, b2, b3)
		}
	})
}

func fuzzCodecs(f *testing.F) *Codecs {
	c, err := NewCodecs()
	if err != nil {
		f.Fatal(err)
	}
	return c
}

func fuzzRerankCodecs(f *testing.F) *RerankCodecs {
	c, err := NewRerankCodecs()
	if err != nil {
		f.Fatal(err)
	}
	return c
}

func FuzzDecodeProblem(f *testing.F) {
	fuzzCodec(f, fuzzCodecs(f).Problem, Problem{
		ProblemID: "HumanEval/0", Benchmark: "humaneval", Split: "test", Prompt: "def f(x):\n", EntryPoint: "f",
		ReferenceCode: "    return x\n", TestImports: []string{"import math"}, Tests: []string{"assert f(1) == 1"},
		TestStyle: "asserts", TimeoutMs: 3000,
	})
}

func FuzzDecodePrompt(f *testing.F) {
	fuzzCodec(f, fuzzCodecs(f).Prompt, Prompt{
		RequestID: "r1", ProblemID: "HumanEval/0", Benchmark: "humaneval", Split: "test", Purpose: PurposeEval,
		N: 4, Temperature: 0.8, TopP: 0.95, MaxTokens: 300, Seed: 7, Model: "m", CreatedAtMs: 1,
	})
}

func FuzzDecodeCandidate(f *testing.F) {
	fuzzCodec(f, fuzzCodecs(f).Candidate, Candidate{
		CandidateID: "c1", RequestID: "r1", ProblemID: "HumanEval/0", SampleIndex: 3, Code: "def f(x):\n    return x\n", Source: "replay",
	}, Candidate{})
}

func FuzzDecodeTestCase(f *testing.F) {
	raw := []string{"f(1) == 2", "f(0) == 1"}
	fuzzCodec(f, fuzzCodecs(f).TestCase, TestCase{
		TestSetID: TestSetID("HumanEval/0", "m", raw), ProblemID: "HumanEval/0", Benchmark: "humaneval", Model: "m",
		Source: "replay", Raw: raw, Asserts: []GeneratedAssert{{"assert f(1) == 2", 2}}, CreatedAtMs: 7,
	})
}

func FuzzDecodeBehavior(f *testing.F) {
	fuzzCodec(f, fuzzCodecs(f).Behavior, Behavior{
		CandidateID: "c1", RequestID: "r", ProblemID: "HumanEval/0", SampleIndex: 3, TestsHash: "h",
		Results:   []GeneratedTestResult{{GeneratedTestID("assert f(1) == 2"), 2, TestPass, "ab", true}, {GeneratedTestID("assert f(0) == 1"), 1, TestTimeout, FingerprintNone, true}},
		RuntimeMs: 1.5, ExecutorVersion: "v", ExecutedAtMs: 9,
	})
}

func FuzzDecodeScore(f *testing.F) {
	fuzzCodec(f, fuzzRerankCodecs(f).Score, Score{CandidateID: "c1", RequestID: "r1", ProblemID: "p", Energy: -1.25, ModelVersion: "v1", ScoredAtMs: 7})
}

func FuzzDecodeSelection(f *testing.F) {
	fuzzCodec(f, fuzzRerankCodecs(f).Selection, Selection{
		RequestID: "r1", ProblemID: "p", CandidateID: "c1", Energy: 0.5, Candidates: 3, Expected: 4, Partial: true, ModelVersion: "v2", SelectedAtMs: 9,
	})
}
