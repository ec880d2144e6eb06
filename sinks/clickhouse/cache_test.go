package clickhouse

import (
	"context"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// TestLookupVerdict: a stored verdict answers exactly its (problem, suite, code); timeouts never
// do; of several stored verdicts the latest wins; nothing stored is a miss, not an error.
func TestLookupVerdict(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()

	pass := verdict("mbpp", "test", "m1", "mbpp/2", 0, true)
	fail := verdict("mbpp", "test", "m1", "mbpp/2", 1, false)
	timeout := verdict("mbpp", "test", "m1", "mbpp/2", 2, false)
	timeout.FailureKind, timeout.Detail = schemas.KindTimeout, "wall timeout 200ms"
	// The same program labelled twice (another sample, same code): the later verdict wins.
	older := verdict("mbpp", "test", "m2", "mbpp/3", 0, false)
	newer := verdict("mbpp", "test", "m2", "mbpp/3", 1, true)
	newer.CodeSHA256 = older.CodeSHA256
	newer.ExecutedAtMs = older.ExecutedAtMs + 1000
	if err := s.WriteVerdicts(ctx, []schemas.Verdict{pass, fail, timeout, older, newer}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name                    string
		problem, suite, code    string
		found                   bool
		label, kind, wantDetail string
	}{
		{"pass", pass.ProblemID, pass.TestSuiteHash, pass.CodeSHA256, true, schemas.Pass, schemas.KindNone, ""},
		{"fail keeps kind and detail", fail.ProblemID, fail.TestSuiteHash, fail.CodeSHA256, true, schemas.Fail, schemas.KindAssertion, fail.Detail},
		{"timeouts are never answered", timeout.ProblemID, timeout.TestSuiteHash, timeout.CodeSHA256, false, "", "", ""},
		{"latest verdict wins", older.ProblemID, older.TestSuiteHash, older.CodeSHA256, true, schemas.Pass, schemas.KindNone, ""},
		{"other suite", pass.ProblemID, "0000000000000000000000000000000000000000000000000000000000000000", pass.CodeSHA256, false, "", "", ""},
		{"other problem", "mbpp/4", pass.TestSuiteHash, pass.CodeSHA256, false, "", "", ""},
		{"other code", pass.ProblemID, pass.TestSuiteHash, fail.TestSuiteHash, false, "", "", ""},
	} {
		label, kind, detail, found, err := s.LookupVerdict(ctx, c.problem, c.suite, c.code)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if found != c.found || label != c.label || kind != c.kind || detail != c.wantDetail {
			t.Errorf("%s: got found=%v %q/%q %q, want found=%v %q/%q %q", c.name, found, label, kind, detail, c.found, c.label, c.kind, c.wantDetail)
		}
	}

	// A cancelled context is an error, never a silent miss the caller could not tell apart.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, _, found, err := s.LookupVerdict(cctx, pass.ProblemID, pass.TestSuiteHash, pass.CodeSHA256); err == nil || found {
		t.Errorf("cancelled lookup: found=%v err=%v, want an error", found, err)
	}
}
