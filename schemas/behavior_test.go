package schemas

import (
	"reflect"
	"testing"
)

func TestTestCaseAndBehaviorRoundTrip(t *testing.T) {
	c, err := NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	raw := []string{"f(1) == 2\nassert f(2) == 3", "f(0) == 1"}
	tc := TestCase{TestSetID: TestSetID("HumanEval/0", "m", raw), ProblemID: "HumanEval/0", Benchmark: "humaneval", Model: "m",
		Source: "replay", Raw: raw, Asserts: []GeneratedAssert{{"assert f(1) == 2", 2}, {"assert f(0) == 1", 1}}, CreatedAtMs: 7}
	b, err := c.TestCase.Encode(tc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.TestCase.Decode(b)
	if err != nil || !reflect.DeepEqual(got, tc) {
		t.Fatalf("test case round trip: %v\n got %+v\nwant %+v", err, got, tc)
	}
	if err := tc.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := tc
	bad.Asserts = []GeneratedAssert{{"assert f(1) == 2", 0}}
	if bad.Validate() == nil {
		t.Fatal("an assert with frequency 0 validated")
	}

	bh := Behavior{CandidateID: "c1", RequestID: "r", ProblemID: "HumanEval/0", SampleIndex: 3, TestsHash: "h",
		Results: []GeneratedTestResult{
			{TestID: GeneratedTestID("assert f(1) == 2"), Frequency: 2, Status: TestPass, Fingerprint: "ab", Shaped: true},
			{TestID: GeneratedTestID("assert f(0) == 1"), Frequency: 1, Status: TestTimeout, Shaped: true},
			{TestID: GeneratedTestID("assert f(2) == None"), Frequency: 1, Status: TestFail, Fingerprint: FingerprintNone, Shaped: true},
			{TestID: GeneratedTestID("assert f(3)"), Frequency: 1, Status: TestPass}},
		RuntimeMs: 1.5, ExecutorVersion: "v", ExecutedAtMs: 9}
	b, err = c.Behavior.Encode(bh)
	if err != nil {
		t.Fatal(err)
	}
	gotB, err := c.Behavior.Decode(b)
	if err != nil || !reflect.DeepEqual(gotB, bh) {
		t.Fatalf("behavior round trip: %v\n got %+v\nwant %+v", err, gotB, bh)
	}
	// A behaviour written before the shaped field decodes with every result not shaped.
	v1, err := NewCodec(SchemaText("behavior_v1"), behaviorToNative, behaviorFromNative)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = v1.Encode(bh); err != nil {
		t.Fatal(err)
	}
	gotB, err = c.Behavior.Decode(b)
	if err != nil || len(gotB.Results) != len(bh.Results) {
		t.Fatalf("behavior_v1: %v, %+v", err, gotB)
	}
	for i, r := range gotB.Results {
		want := bh.Results[i]
		want.Shaped = false
		if r != want {
			t.Errorf("behavior_v1 result %d: %+v, want %+v", i, r, want)
		}
	}
	bh.Results[0].Status = "maybe"
	if bh.Validate() == nil {
		t.Fatal("unknown status validated")
	}
	if _, err := c.Behavior.Encode(bh); err == nil {
		t.Fatal("the schema accepted an unknown status")
	}
}
