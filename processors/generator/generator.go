package generator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/internal/permanent"
	"github.com/codeverify/codeverify/schemas"
	openai "github.com/sashabaranov/go-openai"
)

// Errors. Everything wrapping ErrPermanent can never succeed: the prompt is dead-lettered with the
// error as the reason. Other errors (shutdown, server unreachable) are worth retrying later.
var (
	ErrPermanent      = permanent.New("permanent")
	ErrInvalidPrompt  = fmt.Errorf("%w: invalid prompt", ErrPermanent)
	ErrUnknownModel   = fmt.Errorf("%w: unknown model", ErrPermanent)
	ErrUnknownProblem = fmt.Errorf("%w: unknown problem", ErrPermanent)
	ErrGaveUp         = fmt.Errorf("%w: gave up", ErrPermanent)
	ErrRejected       = fmt.Errorf("%w: rejected by the server", ErrPermanent)
)

// IsPermanent reports whether err can never succeed.
func IsPermanent(err error) bool { return permanent.Is(err) }

// Problems looks problems up by id.
type Problems interface {
	Problem(id string) (schemas.Problem, bool)
}

// Config configures a Generator. Zero values take the documented defaults.
type Config struct {
	BaseURL    string // e.g. http://127.0.0.1:8000/v1
	APIKey     string // vLLM ignores it unless started with --api-key
	Models     Models
	Problems   Problems
	HTTPClient *http.Client // default: one sized for MaxRequests keep-alive connections
	// MaxRequests bounds requests in flight (default 64); MaxSequences bounds samples in flight, n
	// summed over requests (default 512). Together with the runner's window they bound memory.
	MaxRequests  int
	MaxSequences int
	// MaxAttempts per request before the prompt is given up (default 6). Rate limits, 5xx,
	// timeouts and malformed responses are retried with full-jitter exponential backoff between
	// BackoffBase (default 500ms) and BackoffMax (default 30s).
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// RequestTimeout bounds one attempt, time to the last token (default 10m: 100 samples of 512
	// tokens behind a busy server can take minutes).
	RequestTimeout time.Duration
	Source         string   // Candidate.Source (default "vllm")
	Recorder       Recorder // default: records nothing
}

// Generator is the processor prompts → candidates. It is safe for concurrent use.
type Generator struct {
	cfg     Config
	client  *openai.Client
	reqs    *weighted
	seqs    *weighted
	rec     Recorder
	learned sync.Map // model name → *atomic.Int64: the n cap a server revealed by answering fewer

	// kept holds the samples already drawn for prompts that failed transiently, by request id, so
	// that a redelivery requests only the chunks still missing. Bounded by maxKept prompts.
	keptMu sync.Mutex
	kept   map[string]*partial
}

// partial is what a failed delivery of a prompt had already drawn.
type partial struct {
	key     promptKey
	samples []sample
	done    []bool
	seq     uint64 // age, for eviction
}

// promptKey is what must match for kept samples to be reused: the same request with the same
// sampling parameters.
type promptKey struct {
	problem, model, purpose string
	n, maxTokens            int32
	temperature, topP       float64
	seed                    int64
}

func keyOf(p schemas.Prompt) promptKey {
	return promptKey{p.ProblemID, p.Model, p.Purpose, p.N, p.MaxTokens, p.Temperature, p.TopP, p.Seed}
}

// New validates cfg.
func New(cfg Config) (*Generator, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("generator: no base URL")
	}
	if len(cfg.Models) == 0 || cfg.Problems == nil {
		return nil, errors.New("generator: models and problems are required")
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 64
	}
	if cfg.MaxSequences <= 0 {
		cfg.MaxSequences = 512
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Minute
	}
	if cfg.Source == "" {
		cfg.Source = "vllm"
	}
	if cfg.Recorder == nil {
		cfg.Recorder = nopRecorder{}
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 2 * cfg.MaxRequests
		tr.MaxIdleConnsPerHost = 2 * cfg.MaxRequests // the default 2 would reconnect for nearly every request
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	oc.HTTPClient = cfg.HTTPClient
	return &Generator{cfg: cfg, client: openai.NewClientWithConfig(oc), reqs: newWeighted(cfg.MaxRequests),
		seqs: newWeighted(cfg.MaxSequences), rec: cfg.Recorder, kept: map[string]*partial{}}, nil
}

// MaxRequests is the request concurrency after defaults (a runner sizes its workers from it).
func (g *Generator) MaxRequests() int { return g.cfg.MaxRequests }

// MaxSequences is the sequence concurrency after defaults.
func (g *Generator) MaxSequences() int { return g.cfg.MaxSequences }

// ValidatePrompt reports why a prompt can never be served.
func ValidatePrompt(p schemas.Prompt) error {
	switch {
	case p.RequestID == "":
		return fmt.Errorf("%w: empty request_id", ErrInvalidPrompt)
	case p.ProblemID == "":
		return fmt.Errorf("%w: %s: empty problem_id", ErrInvalidPrompt, p.RequestID)
	case p.N < 0 || p.N > 100000 || (p.N == 0 && p.Purpose != schemas.PurposeTests): // tests: 0 takes the model's
		return fmt.Errorf("%w: %s: n=%d", ErrInvalidPrompt, p.RequestID, p.N)
	case p.Temperature < 0 || p.TopP < 0 || p.TopP > 1 || p.MaxTokens < 0:
		return fmt.Errorf("%w: %s: sampling parameters out of range", ErrInvalidPrompt, p.RequestID)
	}
	return nil
}

// resolve validates p and looks up its model and problem; a failure is recorded as the prompt's.
func (g *Generator) resolve(p schemas.Prompt) (Model, schemas.Problem, error) {
	if err := ValidatePrompt(p); err != nil {
		g.rec.PromptFailed("invalid")
		return Model{}, schemas.Problem{}, err
	}
	m, ok := g.cfg.Models[p.Model]
	if !ok {
		g.rec.PromptFailed("unknown_model")
		return Model{}, schemas.Problem{}, fmt.Errorf("%w: %q (prompt %s)", ErrUnknownModel, p.Model, p.RequestID)
	}
	prob, ok := g.cfg.Problems.Problem(p.ProblemID)
	if !ok {
		g.rec.PromptFailed("unknown_problem")
		return Model{}, schemas.Problem{}, fmt.Errorf("%w: %s (prompt %s)", ErrUnknownProblem, p.ProblemID, p.RequestID)
	}
	return m, prob, nil
}

// samples draws p.N samples of req from m, placed at their sample indexes; giving up is recorded
// as the prompt's failure. After a transient failure the samples already drawn are kept, so a
// redelivery of the prompt requests only the missing ones (each at its own sample index, so with
// the same seed and candidate id as the first time).
func (g *Generator) samples(ctx context.Context, m Model, p schemas.Prompt, req Request) ([]sample, error) {
	part := g.takeKept(p)
	if err := g.sampleAll(ctx, m, p, req, part.samples, part.done); err != nil {
		if IsPermanent(err) {
			g.rec.PromptFailed("gave_up")
		} else {
			g.keep(p.RequestID, part)
		}
		return nil, err
	}
	return part.samples, nil
}

// maxKept bounds the prompts whose partial samples are kept: the runner's window holds at most
// 2·MaxRequests prompts, so more are stale.
func (g *Generator) maxKept() int { return 4 * g.cfg.MaxRequests }

// takeKept removes and returns the samples kept for p, or fresh ones.
func (g *Generator) takeKept(p schemas.Prompt) *partial {
	g.keptMu.Lock()
	defer g.keptMu.Unlock()
	if k, ok := g.kept[p.RequestID]; ok {
		delete(g.kept, p.RequestID)
		if k.key == keyOf(p) {
			return k
		}
	}
	return &partial{key: keyOf(p), samples: make([]sample, p.N), done: make([]bool, p.N)}
}

var keptSeq atomic.Uint64

// keep stores part for a redelivery of the prompt if it holds any sample, evicting the oldest.
func (g *Generator) keep(id string, part *partial) {
	drawn := false
	for _, d := range part.done {
		drawn = drawn || d
	}
	if !drawn {
		return
	}
	part.seq = keptSeq.Add(1)
	g.keptMu.Lock()
	defer g.keptMu.Unlock()
	g.kept[id] = part
	for len(g.kept) > g.maxKept() {
		oldest := ""
		for k, v := range g.kept {
			if oldest == "" || v.seq < g.kept[oldest].seq {
				oldest = k
			}
		}
		delete(g.kept, oldest)
	}
}

// sample is one choice of a response, placed at its sample index.
type sample struct {
	text, finish string
	completion   int // tokens, apportioned from the response's usage
	prompt       int
	latency      time.Duration
}

// Process samples p.N completions and returns one Candidate per sample, ordered by sample index,
// with ids derived from (request id, sample index). Errors wrapping ErrPermanent never succeed. A
// prompt for tests yields no candidates: the TestProcessor answers it.
func (g *Generator) Process(ctx context.Context, p schemas.Prompt) ([]schemas.Candidate, error) {
	if p.Purpose == schemas.PurposeTests {
		return nil, nil
	}
	m, prob, err := g.resolve(p)
	if err != nil {
		return nil, err
	}
	var shots []schemas.Problem
	if TaskOf(prob) == TaskMBPP {
		for _, id := range MBPPShotIDs(m, prob) {
			if s, ok := g.cfg.Problems.Problem(id); ok {
				shots = append(shots, s)
			}
		}
	}
	req := BuildRequest(m, prob, shots)

	samples, err := g.samples(ctx, m, p, req)
	if err != nil {
		return nil, err
	}
	out := make([]schemas.Candidate, len(samples))
	for i, s := range samples {
		out[i] = schemas.Candidate{
			CandidateID: schemas.CandidateID(p.RequestID, i), RequestID: p.RequestID, ProblemID: p.ProblemID,
			Benchmark: prob.Benchmark, Split: prob.Split, SampleIndex: int32(i),
			Code: Extract(req, s.text).Code, Completion: s.text, Model: p.Model, Source: g.cfg.Source,
			Temperature: p.Temperature, TopP: p.TopP, MaxTokens: p.MaxTokens, FinishReason: s.finish,
			PromptTokens: int32(s.prompt), CompletionTokens: int32(s.completion),
			LatencyMs: float64(s.latency.Microseconds()) / 1000,
		}
	}
	return out, nil
}

func (g *Generator) maxN(m Model) int {
	n := m.MaxN
	if v, ok := g.learned.Load(m.Name); ok {
		if l := int(v.(*atomic.Int64).Load()); l > 0 && (n == 0 || l < n) {
			n = l
		}
	}
	return n
}

// sampleAll fills the samples not yet done with concurrent requests of at most the model's n cap
// each, marking each one done as it arrives; the first failure cancels the rest.
func (g *Generator) sampleAll(ctx context.Context, m Model, p schemas.Prompt, req Request, samples []sample, done []bool) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	step := g.maxN(m)
	if step <= 0 {
		step = len(samples)
	}
	for start := 0; start < len(samples); {
		if done[start] {
			start++
			continue
		}
		end := start + 1
		for end < len(samples) && end-start < step && !done[end] {
			end++
		}
		chunkStart := start
		start = end
		wg.Go(func() {
			if err := g.fill(ctx, m, p, req, samples, done, chunkStart, end); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}

// fill generates samples[start:end], in several requests when the server answers fewer than asked.
func (g *Generator) fill(ctx context.Context, m Model, p schemas.Prompt, req Request, samples []sample, done []bool, start, end int) error {
	for start < end {
		got, err := g.request(ctx, m, p, req, start, samples[start:end])
		if err != nil {
			return err
		}
		for i := start; i < start+got; i++ {
			done[i] = true
		}
		start += got
	}
	return nil
}

// request asks for len(dst) samples, retrying transient failures, and reports how many it filled.
func (g *Generator) request(ctx context.Context, m Model, p schemas.Prompt, req Request, first int, dst []sample) (int, error) {
	k := len(dst)
	held, err := g.seqs.acquire(ctx, k)
	if err != nil {
		return 0, err
	}
	defer g.seqs.release(held)
	if _, err := g.reqs.acquire(ctx, 1); err != nil {
		return 0, err
	}
	defer g.reqs.release(1)
	g.rec.InFlight(1, k)
	defer g.rec.InFlight(-1, -k)

	var last error
	bo := backoff.New(g.cfg.BackoffBase, g.cfg.BackoffMax)
	for attempt := 1; attempt <= g.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := bo.Wait(ctx); err != nil {
				return 0, err
			}
		}
		t0 := time.Now()
		got, status, err := g.attempt(ctx, m, p, req, first, dst)
		g.rec.Request(status, time.Since(t0).Seconds())
		if err == nil {
			if got < k {
				g.learnCap(m.Name, got)
			}
			return got, nil
		}
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		if status == StatusRejected {
			return 0, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		last = err
		if status == StatusUnreachable && attempt == g.cfg.MaxAttempts {
			// The server is down, not the prompt bad: fail transiently so the prompt waits for it.
			return 0, fmt.Errorf("model server unreachable: %w", err)
		}
	}
	return 0, fmt.Errorf("%w after %d attempts: %v", ErrGaveUp, g.cfg.MaxAttempts, last)
}

func (g *Generator) learnCap(model string, n int) {
	v, _ := g.learned.LoadOrStore(model, new(atomic.Int64))
	c := v.(*atomic.Int64)
	for {
		cur := c.Load()
		if cur != 0 && cur <= int64(n) || c.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

// greedyTemperature stands for 0: go-openai omits a zero temperature (the server would then
// default to 1), and vLLM samples greedily below 1e-5.
const greedyTemperature = 1e-6

type choice struct {
	index        int
	text, finish string
}

// attempt sends one request and, on success, fills dst with its choices.
func (g *Generator) attempt(ctx context.Context, m Model, p schemas.Prompt, req Request, first int, dst []sample) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	k := len(dst)
	temp := float32(p.Temperature)
	if temp == 0 {
		temp = greedyTemperature
	}
	var seed *int
	if p.Seed != 0 {
		// Each chunk needs its own seed, or every chunk of a split request would repeat the first.
		s := int(uint32(p.Seed*1_000_003 + int64(first)))
		seed = &s
	}
	t0 := time.Now()
	var choices []choice
	var usage openai.Usage
	var err error
	if m.API == APIChat {
		msgs := make([]openai.ChatCompletionMessage, len(req.Messages))
		for i, x := range req.Messages {
			msgs[i] = openai.ChatCompletionMessage{Role: x.Role, Content: x.Content}
		}
		var resp openai.ChatCompletionResponse
		resp, err = g.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
			Model: m.ServedName, Messages: msgs, N: k, Temperature: temp, TopP: float32(p.TopP),
			//lint:ignore SA1019 max_tokens is what vLLM and every OpenAI-compatible server accept;
			// max_completion_tokens (its replacement) is newer and not served everywhere.
			MaxTokens: int(p.MaxTokens), Seed: seed, Stop: req.WireStops,
		})
		if err == nil {
			usage = resp.Usage
			for _, c := range resp.Choices {
				choices = append(choices, choice{index: c.Index, text: c.Message.Content, finish: string(c.FinishReason)})
			}
		}
	} else {
		var resp openai.CompletionResponse
		resp, err = g.client.CreateCompletion(ctx, openai.CompletionRequest{
			Model: m.ServedName, Prompt: req.Prompt, N: k, Temperature: temp, TopP: float32(p.TopP),
			MaxTokens: int(p.MaxTokens), Seed: seed, Stop: req.WireStops,
		})
		if err == nil {
			if resp.Usage != nil {
				usage = *resp.Usage
			}
			for _, c := range resp.Choices {
				choices = append(choices, choice{index: c.Index, text: c.Text, finish: c.FinishReason})
			}
		}
	}
	latency := time.Since(t0)
	if err != nil {
		return 0, classify(err), err
	}
	got, err := place(choices, k)
	if err != nil {
		return 0, StatusMalformed, err
	}
	tokens := apportion(usage.CompletionTokens, choices, int(p.MaxTokens))
	for _, c := range choices {
		dst[c.index] = sample{text: c.text, finish: c.finish, completion: tokens[c.index], prompt: usage.PromptTokens, latency: latency}
		g.rec.Completions(c.finish, 1)
	}
	g.rec.Tokens(usage.PromptTokens, usage.CompletionTokens)
	return got, StatusOK, nil
}

// place checks that the choices are indexed 0..len-1 exactly once, with 0 < len ≤ k, and sorts them.
func place(choices []choice, k int) (int, error) {
	if len(choices) == 0 || len(choices) > k {
		return 0, fmt.Errorf("malformed response: %d choices for n=%d", len(choices), k)
	}
	sort.Slice(choices, func(i, j int) bool { return choices[i].index < choices[j].index })
	for i, c := range choices {
		if c.index != i {
			return 0, fmt.Errorf("malformed response: choice indexes are not 0..%d", len(choices)-1)
		}
	}
	return len(choices), nil
}

// apportion splits a response's completion tokens over its choices (servers report usage per
// request, not per choice): a choice cut by max_tokens used exactly maxTokens; the rest is shared in
// proportion to text length, largest remainders first, so the parts sum to the total.
func apportion(total int, choices []choice, maxTokens int) []int {
	out := make([]int, len(choices))
	rest := total
	var weights []int
	var idx []int
	for _, c := range choices {
		if c.finish == string(openai.FinishReasonLength) && maxTokens > 0 && rest >= maxTokens {
			out[c.index] = maxTokens
			rest -= maxTokens
			continue
		}
		weights = append(weights, len(c.text)+1)
		idx = append(idx, c.index)
	}
	if len(idx) == 0 || rest <= 0 {
		return out
	}
	sum := 0
	for _, w := range weights {
		sum += w
	}
	type rem struct{ i, r int }
	rems := make([]rem, len(idx))
	given := 0
	for j, i := range idx {
		out[i] = rest * weights[j] / sum
		given += out[i]
		rems[j] = rem{i, rest * weights[j] % sum}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for j := 0; given < rest; j++ {
		out[rems[j%len(rems)].i]++
		given++
	}
	return out
}

// classify names a failed attempt's cause; StatusRejected is never retried.
func classify(err error) string {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	code := 0
	switch {
	case errors.As(err, &apiErr):
		code = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		code = reqErr.HTTPStatusCode
	}
	switch {
	case code == http.StatusTooManyRequests:
		return StatusRateLimited
	case code == http.StatusRequestTimeout:
		return StatusTimeout
	case code >= 500:
		return StatusServerError
	case code >= 400:
		return StatusRejected
	}
	var netErr net.Error
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return StatusTimeout
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return StatusUnreachable
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &syntaxErr) || errors.As(err, &typeErr):
		return StatusMalformed
	}
	return StatusOther
}
