package testkit

import "github.com/codeverify/codeverify/schemas"

// SinkVerdict builds a valid verdict of request req: sample sample, PASS or an assertion FAIL.
func SinkVerdict(req string, sample int, pass bool) schemas.Verdict {
	v := schemas.Verdict{
		CandidateID: schemas.CandidateID(req, sample), RequestID: req, ProblemID: "p1",
		Benchmark: "mbpp", Split: "test", Model: "sink-model", SampleIndex: int32(sample),
		Label: schemas.Pass, FailureKind: schemas.KindNone, ExecutorVersion: "executor-v1",
		ExecutedAtMs: 1_764_000_000_000 + int64(sample),
	}
	if !pass {
		v.Label, v.FailureKind = schemas.Fail, schemas.KindAssertion
	}
	return v
}
