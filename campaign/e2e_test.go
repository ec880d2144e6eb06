package campaign_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codeverify/codeverify/campaign"
	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// TestCampaignSurvivesKill9: the built binary's generator and executor run against the embedded
// broker (over TCP) and a fake OpenAI server; a campaign is killed with SIGKILL right after its
// first round and started again. Its targets must be met exactly, with no prompt asked twice.
func TestCampaignSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs processes")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 for the executor's sandbox")
	}
	w := newWorld(t)

	t.Run("samples", func(t *testing.T) {
		const name, n = "e2e-samples", 10
		since := w.begin()
		w.runKilled(t, name, false, "--samples", strconv.Itoa(n), "--round-size", "4")
		for _, p := range w.problems {
			cands := w.campaignCandidates(t, name)[p.ProblemID]
			if len(cands) != n {
				t.Errorf("%s: %d distinct candidates, want exactly %d", p.ProblemID, len(cands), n)
			}
		}
		// Rounds of 4, 4 and 2, each a request of its own seed, asked once.
		w.checkRequests(t, name, since, []int32{4, 4, 2})
		out := w.status(t, name, "--samples", strconv.Itoa(n))
		if !strings.Contains(out, fmt.Sprintf("%d/%d", len(w.problems), len(w.problems))) {
			t.Errorf("status does not say every target is met:\n%s", out)
		}
	})

	t.Run("pass", func(t *testing.T) {
		const name, k = "e2e-pass", 3
		since := w.begin()
		// The fake answers sample 0 with the same passing program in a problem's first two rounds and
		// sample 1 with a new one each round (the rest fail), so three distinct PASS take three rounds
		// of 3, 1 and 1 samples; counting PASS verdicts instead would stop after two.
		w.runKilled(t, name, true, "--pass", strconv.Itoa(k), "--round-size", "3", "--max-rounds", "6")
		passes, distinct := w.campaignPasses(t, name)
		for _, p := range w.problems {
			if distinct[p.ProblemID] < k {
				t.Errorf("%s: %d distinct PASS programs (%d PASS verdicts), want ≥ %d", p.ProblemID, distinct[p.ProblemID], passes[p.ProblemID], k)
			}
		}
		w.checkRequests(t, name, since, []int32{3, 1, 1})
		out := w.status(t, name, "--pass", strconv.Itoa(k))
		if !strings.Contains(out, fmt.Sprintf("%d/%d", len(w.problems), len(w.problems))) {
			t.Errorf("status does not say every target is met:\n%s", out)
		}
	})
}

// world is the pipeline: a broker, the fake server, a generator and an executor process.
type world struct {
	bin      string
	dir      string
	brokers  string
	cluster  streams.Cluster
	codecs   *schemas.Codecs
	problems []schemas.Problem
	file     string // the problems file given to the campaign
	fake     *openaifake.Server

	mu     sync.Mutex
	rounds map[string][]int // problem → wire seeds in the order the server first saw them
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), rounds: map[string][]int{}}
	w.bin = filepath.Join(w.dir, "codeverify")
	start := time.Now()
	if out, err := exec.Command("go", "build", "-o", w.bin, "../cmd/codeverify").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built codeverify in %v", time.Since(start).Round(time.Millisecond))

	_, w.cluster = kafkatest.Start(t)
	w.brokers = w.cluster.Brokers[0]
	if err := streams.EnsureTopics(context.Background(), w.cluster, streams.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.codecs, err = schemas.NewCodecs(); err != nil {
		t.Fatal(err)
	}
	w.writeProblems(t)

	// Slow enough that a killed campaign is caught between rounds.
	w.fake = openaifake.New(openaifake.Options{Respond: w.respond, Latency: 300 * time.Millisecond})
	t.Cleanup(w.fake.Close)
	models := filepath.Join(w.dir, "models.yaml")
	if err := os.WriteFile(models, []byte("models:\n  - name: fake-coder\n    api: chat\n    max_n: 16\n    mbpp_shots: [-1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.start(t, "generate", "generate", "--models", models, "--base-url", w.fake.BaseURL(), "--max-attempts", "3")
	w.start(t, "execute", "execute", "--workers", "1")
	return w
}

// writeProblems writes four MBPP training problems to a file of the campaign's own.
func (w *world) writeProblems(t *testing.T) {
	data := os.Getenv("CODEVERIFY_DATA_DIR")
	if data == "" {
		data = "../../shared/data"
	}
	src := filepath.Join(data, "mbpp", "mbpp.jsonl")
	all, err := producers.LoadMBPP(src)
	if err != nil {
		t.Skipf("no MBPP data (set CODEVERIFY_DATA_DIR): %v", err)
	}
	want := map[string]bool{}
	for _, p := range producers.FilterSplit(all, "train")[:4] {
		w.problems = append(w.problems, p)
		want[strings.TrimPrefix(p.ProblemID, "mbpp/")] = true
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var id int
		if _, err := fmt.Sscanf(sc.Text()[strings.Index(sc.Text(), `"task_id": `)+len(`"task_id": `):], "%d", &id); err == nil && want[strconv.Itoa(id)] {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != len(w.problems) {
		t.Fatalf("found %d of the %d problems' lines", len(lines), len(w.problems))
	}
	w.file = filepath.Join(w.dir, "problems.jsonl")
	if err := os.WriteFile(w.file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// respond answers like a model that knows the reference solutions: sample 0 is the same program
// in a problem's first two rounds, then a new one; sample 1 a new program each round; the rest fail.
// A round is the order in which the server first saw the request's seed.
func (w *world) respond(r openaifake.Request, i int) (string, string) {
	var prob *schemas.Problem
	for j, p := range w.problems {
		if strings.Contains(r.Prompt, strings.TrimSpace(p.Prompt)) {
			prob = &w.problems[j]
		}
	}
	if prob == nil || r.Seed == nil {
		return "I cannot help with that.", "stop"
	}
	w.mu.Lock()
	seeds := w.rounds[prob.ProblemID]
	round := slices.Index(seeds, *r.Seed)
	if round < 0 {
		round = len(seeds)
		w.rounds[prob.ProblemID] = append(seeds, *r.Seed)
	}
	w.mu.Unlock()
	code := strings.ReplaceAll(prob.ReferenceCode, "\r\n", "\n")
	switch {
	case i == 0 && round < 2:
		code += "\nvariant = 'same'\n"
	case i <= 1:
		code += fmt.Sprintf("\nvariant = 'round %d sample %d'\n", round, i)
	default:
		code = "def nothing():\n    return None\n"
	}
	return "Here is the solution:\n```python\n" + code + "```\n", "stop"
}

// proc is a running codeverify process; done is closed when it exited.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// start runs one codeverify process against the broker; it is killed when the test ends.
func (w *world) start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(w.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(w.bin, append(args, "--brokers", w.brokers, "--log-format", "text")...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("---- %s log (last 30 lines):\n%s", name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	return &proc{cmd: cmd, log: logPath, done: done}
}

// runKilled runs a campaign, kills it with SIGKILL once its first round is published, and runs it
// again to the end: at once (drain false, round 1 still in flight) or once round 1 is judged.
func (w *world) runKilled(t *testing.T, name string, drain bool, target ...string) {
	t.Helper()
	args := append([]string{"campaign", name, "--problems", w.file, "--gen-model", "fake-coder", "--max-lag", "1", "--poll-interval", "100ms"}, target...)
	first := w.start(t, name+"-1", args...)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(first.output(), "round 1:") {
		if first.exited() || time.Now().After(deadline) {
			t.Fatalf("no first round within 30s:\n%s", first.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.done
	if out := first.output(); strings.Contains(out, "round 2:") || strings.Contains(out, "problems at") {
		t.Fatalf("the campaign was past its first round when killed:\n%s", out)
	}
	t.Logf("killed %s after round 1", name)
	if drain {
		// Restarted only once round 1 has been answered and judged: with no backlog to wait for,
		// a campaign that did not read its past from the topics would publish round 1 again at once.
		for w.judged(t, name) < w.asked(t, name) {
			if time.Now().After(deadline) {
				t.Fatalf("round 1 not judged within 30s (%d of %d verdicts)", w.judged(t, name), w.asked(t, name))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	second := w.start(t, name+"-2", args...)
	select {
	case <-second.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("the restarted campaign did not finish within 45s:\n%s", second.output())
	}
	out := second.output()
	if !second.cmd.ProcessState.Success() || !strings.Contains(out, fmt.Sprintf("%d of %d problems at", len(w.problems), len(w.problems))) {
		t.Fatalf("restarted campaign: %v\n%s", second.cmd.ProcessState, out)
	}
	if strings.Contains(out, "round 1:") {
		t.Errorf("the restarted campaign published round 1 again:\n%s", out)
	}
}

// asked is how many samples the campaign's prompts asked for; judged how many verdicts it has.
func (w *world) asked(t *testing.T, name string) int {
	t.Helper()
	prompts, _, err := streams.ReadAll(context.Background(), w.cluster, streams.TopicPrompts, w.codecs.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range prompts {
		if _, _, ok := campaign.ParseRequestID(name, p.RequestID); ok {
			n += int(p.N)
		}
	}
	return n
}

func (w *world) judged(t *testing.T, name string) int {
	t.Helper()
	vs, _, err := streams.ReadAll(context.Background(), w.cluster, streams.TopicVerdicts, w.codecs.Verdict)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, v := range vs {
		if _, _, ok := campaign.ParseRequestID(name, v.RequestID); ok {
			ids[v.CandidateID] = true
		}
	}
	return len(ids)
}

// campaignCandidates reads the candidates topic: problem → the campaign's distinct candidate ids.
func (w *world) campaignCandidates(t *testing.T, name string) map[string]map[string]bool {
	t.Helper()
	cands, bad, err := streams.ReadAll(context.Background(), w.cluster, streams.TopicCandidates, w.codecs.Candidate)
	if err != nil || bad > 0 {
		t.Fatalf("read candidates: %v (%d undecodable)", err, bad)
	}
	out := map[string]map[string]bool{}
	for _, c := range cands {
		if _, _, ok := campaign.ParseRequestID(name, c.RequestID); ok {
			if out[c.ProblemID] == nil {
				out[c.ProblemID] = map[string]bool{}
			}
			out[c.ProblemID][c.CandidateID] = true
		}
	}
	return out
}

// campaignPasses reads the verdicts topic: per problem, the campaign's candidates that passed and
// the distinct programs among them.
func (w *world) campaignPasses(t *testing.T, name string) (passes, distinct map[string]int) {
	t.Helper()
	vs, bad, err := streams.ReadAll(context.Background(), w.cluster, streams.TopicVerdicts, w.codecs.Verdict)
	if err != nil || bad > 0 {
		t.Fatalf("read verdicts: %v (%d undecodable)", err, bad)
	}
	ids, codes := map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, v := range vs {
		if _, _, ok := campaign.ParseRequestID(name, v.RequestID); !ok || v.Label != schemas.Pass {
			continue
		}
		if ids[v.ProblemID] == nil {
			ids[v.ProblemID], codes[v.ProblemID] = map[string]bool{}, map[string]bool{}
		}
		ids[v.ProblemID][v.CandidateID], codes[v.ProblemID][v.CodeSHA256] = true, true
	}
	passes, distinct = map[string]int{}, map[string]int{}
	for p := range ids {
		passes[p], distinct[p] = len(ids[p]), len(codes[p])
	}
	return passes, distinct
}

// begin starts a campaign's part of the test: the fake numbers rounds afresh, and the requests
// received so far belong to earlier campaigns.
func (w *world) begin() (since int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rounds = map[string][]int{}
	return len(w.fake.Requests())
}

// checkRequests checks the campaign's prompts (one per problem and round, with the sizes given)
// against the requests the fake server received since: each prompt was asked once, each round
// with a seed of its own.
func (w *world) checkRequests(t *testing.T, name string, since int, sizes []int32) {
	t.Helper()
	prompts, _, err := streams.ReadAll(context.Background(), w.cluster, streams.TopicPrompts, w.codecs.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	byRound := map[string]map[int]int32{} // problem → round → n
	seeds := map[string]map[int64]bool{}
	for _, p := range prompts {
		round, pid, ok := campaign.ParseRequestID(name, p.RequestID)
		if !ok {
			continue
		}
		if byRound[pid] == nil {
			byRound[pid], seeds[pid] = map[int]int32{}, map[int64]bool{}
		}
		if _, dup := byRound[pid][round]; dup {
			t.Errorf("%s round %d published twice", pid, round)
		}
		byRound[pid][round] = p.N
		seeds[pid][p.Seed] = true
	}
	// A round asks only the problems ready for more, so a problem may skip rounds.
	published := map[string][]int32{} // problem → n of its prompts, in round order
	for pid, m := range byRound {
		for _, r := range slices.Sorted(maps.Keys(m)) {
			published[pid] = append(published[pid], m[r])
		}
	}
	asked := map[string]map[int]int{} // problem → wire seed → requests
	for _, r := range w.fake.Requests()[since:] {
		for _, p := range w.problems {
			if strings.Contains(r.Prompt, strings.TrimSpace(p.Prompt)) && r.Seed != nil {
				if asked[p.ProblemID] == nil {
					asked[p.ProblemID] = map[int]int{}
				}
				asked[p.ProblemID][*r.Seed]++
			}
		}
	}
	for _, p := range w.problems {
		pid := p.ProblemID
		if fmt.Sprint(published[pid]) != fmt.Sprint(sizes) || len(seeds[pid]) != len(sizes) {
			t.Errorf("%s: n by round %v with %d seeds, want %v with one seed per round", pid, published[pid], len(seeds[pid]), sizes)
		}
		// The generator is never killed, so a prompt is asked exactly once (n ≤ max_n: one request).
		if len(asked[pid]) != len(sizes) {
			t.Errorf("%s: the server saw %d seeds, want one per round (%d)", pid, len(asked[pid]), len(sizes))
		}
		for seed, n := range asked[pid] {
			if n != 1 {
				t.Errorf("%s: the server was asked %d times with seed %d", pid, n, seed)
			}
		}
	}
}

// status runs codeverify campaign status and returns its output.
func (w *world) status(t *testing.T, name string, target ...string) string {
	t.Helper()
	out, err := exec.Command(w.bin, append([]string{"campaign", "status", name, "--problems", w.file, "--brokers", w.brokers}, target...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("campaign status: %v\n%s", err, out)
	}
	t.Logf("campaign status %s:\n%s", name, out)
	return string(out)
}
