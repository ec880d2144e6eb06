package campaign

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func testProblems(n int) []schemas.Problem {
	ps := make([]schemas.Problem, n)
	for i := range ps {
		ps[i] = schemas.Problem{ProblemID: fmt.Sprintf("MBPP/%d", 601+i), Benchmark: "mbpp", Split: "train"}
	}
	return ps
}

func testConfig() Config {
	return Config{Name: "c1", ProblemsPath: "p.jsonl", Model: "m", TopP: 0.95, SampleMaxTokens: 100, RoundSize: 4,
		MaxLag: 10, Poll: time.Second}
}

// answer plays the pipeline for a decision's prompts: every sample is delivered (with tokens
// completion tokens) and judged; pass(problem, round, i) says whether sample i passes and code(...)
// is its program.
func answer(st *State, d Decision, tokens int32, pass func(pid string, round, i int) bool, code func(pid string, round, i int) string) {
	for _, pr := range d.Prompts {
		st.AddPrompt(pr)
		for i := range int(pr.N) {
			c := schemas.Candidate{CandidateID: schemas.CandidateID(pr.RequestID, i), RequestID: pr.RequestID, ProblemID: pr.ProblemID, CompletionTokens: tokens}
			st.AddCandidate(c)
			label := schemas.Fail
			if pass(pr.ProblemID, d.Round, i) {
				label = schemas.Pass
			}
			st.AddVerdict(schemas.Verdict{CandidateID: c.CandidateID, RequestID: pr.RequestID, ProblemID: pr.ProblemID,
				Label: label, CodeSHA256: code(pr.ProblemID, d.Round, i)})
		}
	}
}

func TestSamplesTargetIsMetExactlyInRoundsOfRoundSize(t *testing.T) {
	c := testConfig()
	c.Samples = 10
	problems := testProblems(3)
	st := NewState(c.Name)
	var ns []int32
	for round := 1; ; round++ {
		d := Plan(c, problems, st, t0)
		if d.Done {
			break
		}
		if round > 10 || len(d.Prompts) != len(problems) || d.Round != round {
			t.Fatalf("round %d: %+v", round, d)
		}
		ns = append(ns, d.Prompts[0].N)
		answer(st, d, 1, func(string, int, int) bool { return false }, func(p string, r, i int) string { return fmt.Sprint(p, r, i) })
	}
	if fmt.Sprint(ns) != "[4 4 2]" {
		t.Errorf("n per round %v, want [4 4 2]", ns)
	}
	for _, p := range problems {
		if got := st.Problem(p.ProblemID).Samples(); got != 10 {
			t.Errorf("%s: %d samples, want 10", p.ProblemID, got)
		}
	}
}

func TestSamplesTargetCountsPendingSamplesAndReplacesDeadLetteredOnes(t *testing.T) {
	c := testConfig()
	c.Samples = 6
	problems := testProblems(1)
	st := NewState(c.Name)
	d1 := Plan(c, problems, st, t0)
	st.AddPrompt(d1.Prompts[0]) // published, nothing answered yet
	d2 := Plan(c, problems, st, t0)
	if len(d2.Prompts) != 1 || d2.Prompts[0].N != 2 || d2.Round != 2 {
		t.Fatalf("second round while the first is pending: %+v, want n=2 in round 2", d2)
	}
	st.AddPrompt(d2.Prompts[0])
	if d := Plan(c, problems, st, t0); len(d.Prompts) != 0 || d.Done || d.Waiting != 1 {
		t.Fatalf("everything asked for, nothing delivered: %+v, want a wait", d)
	}
	// The generator gives up on round 1 after one of its four samples: three must be asked again.
	st.AddCandidate(schemas.Candidate{CandidateID: "x", RequestID: d1.Prompts[0].RequestID, ProblemID: "MBPP/601"})
	st.AddDeadPrompt(d1.Prompts[0])
	d3 := Plan(c, problems, st, t0)
	if len(d3.Prompts) != 1 || d3.Prompts[0].N != 3 || d3.Round != 3 {
		t.Fatalf("after a dead letter: %+v, want n=3 in round 3", d3)
	}
}

func TestPassTargetCountsDistinctProgramsAndWaitsForVerdicts(t *testing.T) {
	c := testConfig()
	c.Pass = 3
	c.RoundSize = 3
	problems := testProblems(2)
	st := NewState(c.Name)
	// Samples 0 and 1 pass, the rest fail. Sample 0 is the same program in rounds 1 and 2 and a new
	// one in round 3; sample 1 a new one each round. Counting PASS verdicts would stop after round
	// 2 (three PASS), counting distinct programs needs round 3.
	pass := func(_ string, _, i int) bool { return i < 2 }
	code := func(p string, r, i int) string {
		if i == 0 && r < 3 {
			return p + "/same"
		}
		return fmt.Sprint(p, r, i)
	}
	var ns []int32
	for round := 1; ; round++ {
		d := Plan(c, problems, st, t0)
		if d.Done {
			break
		}
		if round > 10 {
			t.Fatalf("not done after 10 rounds: %+v", d)
		}
		ns = append(ns, d.Prompts[0].N)
		// Published but not yet judged: no new round for the problem.
		for _, pr := range d.Prompts {
			st.AddPrompt(pr)
		}
		if w := Plan(c, problems, st, t0); len(w.Prompts) != 0 || w.Waiting != 2 {
			t.Fatalf("round %d unjudged: %+v, want a wait", round, w)
		}
		answer(st, d, 1, pass, code)
	}
	if fmt.Sprint(ns) != "[3 1 1]" {
		t.Errorf("n per round %v, want [3 1 1] (distinct PASS 2, 2, 3)", ns)
	}
	p := st.Problem("MBPP/601")
	if p.DistinctPass() != 3 || p.Passed() != 4 {
		t.Errorf("distinct PASS %d (want 3), PASS %d (want 4)", p.DistinctPass(), p.Passed())
	}
}

func TestBudgets(t *testing.T) {
	problems := testProblems(3)
	for name, tc := range map[string]struct {
		edit     func(*Config)
		rounds   int    // rounds published before the stop
		requests int    // prompts published
		stop     string // in Decision.Stop
	}{
		"max-rounds":   {func(c *Config) { c.MaxRounds = 2 }, 2, 6, "max-rounds 2"},
		"max-requests": {func(c *Config) { c.MaxRequests = 5 }, 2, 5, "max-requests 5"},
		// At 100 max tokens a sample, 1,000 allows 10 samples: round 1 is cut to 4+4+2, and its
		// samples use 100 tokens each.
		"max-tokens": {func(c *Config) { c.MaxTokens = 1000 }, 1, 3, "max-tokens 1000"},
	} {
		t.Run(name, func(t *testing.T) {
			c := testConfig()
			c.Samples = 100
			tc.edit(&c)
			st := NewState(c.Name)
			var d Decision
			for range 20 {
				if d = Plan(c, problems, st, t0); d.Stop != "" || d.Done {
					break
				}
				answer(st, d, 100, func(string, int, int) bool { return false }, func(p string, r, i int) string { return fmt.Sprint(p, r, i) })
			}
			if !strings.Contains(d.Stop, tc.stop) || st.MaxRound != tc.rounds || st.Requests() != tc.requests {
				t.Errorf("stop %q after %d rounds, %d requests; want %q after %d, %d", d.Stop, st.MaxRound, st.Requests(), tc.stop, tc.rounds, tc.requests)
			}
			if c.MaxTokens > 0 && st.Tokens() > c.MaxTokens {
				t.Errorf("%d tokens used, budget %d", st.Tokens(), c.MaxTokens)
			}
		})
	}

	t.Run("max-duration", func(t *testing.T) {
		c := testConfig()
		c.Samples, c.MaxDuration = 100, time.Minute
		st := NewState(c.Name)
		d := Plan(c, problems, st, t0)
		answer(st, d, 1, func(string, int, int) bool { return false }, func(p string, r, i int) string { return fmt.Sprint(p, r, i) })
		if d := Plan(c, problems, st, t0.Add(59*time.Second)); d.Stop != "" || len(d.Prompts) == 0 {
			t.Errorf("within the duration: %+v", d)
		}
		// Measured from the first prompt, which the topic holds: a restarted campaign keeps its clock.
		if d := Plan(c, problems, st, t0.Add(time.Minute)); !strings.Contains(d.Stop, "max-duration") {
			t.Errorf("after the duration: %+v", d)
		}
	})
}

func TestGivesUpOnAProblemTheGeneratorKeepsDeadLettering(t *testing.T) {
	c := testConfig()
	c.Samples = 4
	problems := testProblems(2)
	st := NewState(c.Name)
	for range maxDeadLetters {
		d := Plan(c, problems, st, t0)
		for _, pr := range d.Prompts {
			st.AddPrompt(pr)
			if pr.ProblemID == "MBPP/601" {
				st.AddDeadPrompt(pr)
				continue
			}
			for i := range int(pr.N) {
				st.AddCandidate(schemas.Candidate{CandidateID: schemas.CandidateID(pr.RequestID, i), RequestID: pr.RequestID, ProblemID: pr.ProblemID})
			}
		}
	}
	d := Plan(c, problems, st, t0)
	if !d.Done || len(d.Prompts) != 0 || fmt.Sprint(d.GivenUp) != "[MBPP/601]" {
		t.Errorf("after %d dead letters: %+v, want done with MBPP/601 given up", maxDeadLetters, d)
	}
}

func TestSeedsAndRequestIDs(t *testing.T) {
	seen := map[int64]string{}
	for round := 1; round <= 50; round++ {
		for _, p := range []string{"MBPP/601", "MBPP/602", "HumanEval/0"} {
			s := Seed("c1", round, p)
			if s <= 0 || s >= 1<<31 {
				t.Fatalf("seed %d out of (0, 2³¹)", s)
			}
			if prev, dup := seen[s]; dup {
				t.Fatalf("round %d %s: seed %d already used by %s", round, p, s, prev)
			}
			seen[s] = fmt.Sprint(round, p)
			if s != Seed("c1", round, p) {
				t.Fatal("seed not stable")
			}
			id := RequestID("c1", round, p)
			if r, pid, ok := ParseRequestID("c1", id); !ok || r != round || pid != p {
				t.Fatalf("ParseRequestID(%q) = %d %q %v", id, r, pid, ok)
			}
		}
	}
	if Seed("c1", 1, "MBPP/601") == Seed("c2", 1, "MBPP/601") {
		t.Error("two campaigns share a seed")
	}
	// Plans made at different times carry the same ids and seeds: a rerun is reproducible.
	c := testConfig()
	c.Samples = 8
	a, b := Plan(c, testProblems(2), NewState("c1"), t0), Plan(c, testProblems(2), NewState("c1"), t0.Add(time.Hour))
	for i := range a.Prompts {
		if a.Prompts[i].RequestID != b.Prompts[i].RequestID || a.Prompts[i].Seed != b.Prompts[i].Seed {
			t.Errorf("prompt %d differs between runs: %+v vs %+v", i, a.Prompts[i], b.Prompts[i])
		}
	}
	for _, id := range []string{"campaign/c1/0/MBPP/1", "campaign/c1/01/MBPP/1", "campaign/c1/x/MBPP/1", "campaign/c1/2/", "campaign/c10/2/MBPP/1", "req-abc"} {
		if _, _, ok := ParseRequestID("c1", id); ok {
			t.Errorf("ParseRequestID accepted %q", id)
		}
	}
	for _, bad := range []string{"", "a/b", "-x", strings.Repeat("a", 65), "a b"} {
		if ValidateName(bad) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestStateCountsDistinctIDsAndIgnoresOtherCampaigns(t *testing.T) {
	st := NewState("c1")
	pr := schemas.Prompt{RequestID: RequestID("c1", 1, "MBPP/601"), ProblemID: "MBPP/601", N: 2, CreatedAtMs: 5}
	other := schemas.Prompt{RequestID: RequestID("c2", 1, "MBPP/601"), ProblemID: "MBPP/601", N: 2}
	c := schemas.Candidate{CandidateID: "a", RequestID: pr.RequestID, ProblemID: "MBPP/601", CompletionTokens: 7}
	v := schemas.Verdict{CandidateID: "a", RequestID: pr.RequestID, ProblemID: "MBPP/601", Label: schemas.Pass, CodeSHA256: "h"}
	// Redeliveries, in an order a reader of three topics may see them.
	st.AddVerdict(v)
	st.AddCandidate(c)
	st.AddPrompt(pr)
	st.AddPrompt(pr)
	st.AddCandidate(c)
	st.AddVerdict(v)
	st.AddPrompt(other)
	st.AddCandidate(schemas.Candidate{CandidateID: "b", RequestID: other.RequestID, ProblemID: "MBPP/601"})
	st.AddCandidate(schemas.Candidate{CandidateID: "c", RequestID: pr.RequestID, ProblemID: "MBPP/999"}) // id names another problem
	p := st.Problem("MBPP/601")
	if p.Samples() != 1 || p.Judged() != 1 || p.Passed() != 1 || p.DistinctPass() != 1 || p.Tokens() != 7 || p.Requests() != 1 || st.Requests() != 1 {
		t.Errorf("samples %d judged %d pass %d distinct %d tokens %d requests %d/%d", p.Samples(), p.Judged(), p.Passed(), p.DistinctPass(), p.Tokens(), p.Requests(), st.Requests())
	}
	if p.Settled() || st.Pending() != 1 || st.MaxRound != 1 || st.FirstPromptMs != 5 {
		t.Errorf("settled %v pending %d maxRound %d first %d", p.Settled(), st.Pending(), st.MaxRound, st.FirstPromptMs)
	}
	st.AddDeadCandidate(schemas.Candidate{CandidateID: "d", RequestID: pr.RequestID, ProblemID: "MBPP/601"})
	st.AddCandidate(schemas.Candidate{CandidateID: "d", RequestID: pr.RequestID, ProblemID: "MBPP/601"})
	if !p.Settled() || p.Passed() != 1 || p.Judged() != 2 {
		t.Errorf("after the dead-lettered candidate: settled %v passed %d judged %d", p.Settled(), p.Passed(), p.Judged())
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"no target":   {func(c *Config) {}, "no target"},
		"two targets": {func(c *Config) { c.Samples, c.Pass = 1, 1 }, "give one"},
		"bad name":    {func(c *Config) { c.Samples, c.Name = 1, "a/b" }, "campaign name"},
		"no problems": {func(c *Config) { c.Samples, c.ProblemsPath = 1, "" }, "--problems"},
		"negative":    {func(c *Config) { c.Samples, c.MaxRounds = 1, -1 }, "negative"},
	} {
		c := testConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	c := testConfig()
	c.Pass = 2
	if err := c.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

func TestTokenBudgetUsesWhatSamplesLeaveUnused(t *testing.T) {
	c := testConfig()
	c.Samples, c.MaxTokens = 100, 1000
	problems := testProblems(1)
	st := NewState(c.Name)
	var ns []int32
	for range 20 {
		d := Plan(c, problems, st, t0)
		if d.Stop != "" {
			break
		}
		ns = append(ns, d.Prompts[0].N)
		// Each sample uses half of its 100-token allowance, which frees budget for later rounds.
		answer(st, d, 50, func(string, int, int) bool { return false }, func(p string, r, i int) string { return fmt.Sprint(p, r, i) })
	}
	if st.Tokens() > c.MaxTokens || st.Tokens() < c.MaxTokens-int64(c.SampleMaxTokens) {
		t.Errorf("%d tokens used of %d (rounds %v): want within one sample's allowance of the budget", st.Tokens(), c.MaxTokens, ns)
	}
	// Rounds are cut to (budget − used) / allowance: 10, 8, 6, 4, 2, 1 samples fit before them.
	if fmt.Sprint(ns) != "[4 4 4 4 2 1]" {
		t.Errorf("n by round %v", ns)
	}
}

func TestStatusTable(t *testing.T) {
	c := testConfig()
	c.Pass = 1
	st := NewState(c.Name)
	d := Plan(c, testProblems(2), st, t0)
	answer(st, d, 3, func(p string, _, i int) bool { return p == "MBPP/601" }, func(p string, r, i int) string { return p })
	var b strings.Builder
	if err := writeStatus(&b, c, st, []string{"MBPP/601", "MBPP/602", "MBPP/700"}, 2); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"MBPP/601       1          1        1       1     1              1       3         yes",
		"MBPP/602       1          1        1       1     0              0       3          no",
		"MBPP/700       0          0        0       0     0              0       0          no",
		"total (3 problems)       2          2        2       2     1              1       6         1/3",
		"campaign c1: 1 rounds, 2 requests, target 1 distinct PASS; 2 undecodable records skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
