package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/pipeline"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// GeneratorOptions are the settings of the generator benchmark (codeverify bench generator).
type GeneratorOptions struct {
	Prompts, N   int           // prompts to generate for, samples per prompt
	MaxN         int           // the model's n cap per request (requests of this size)
	MaxRequests  int           // generator requests in flight
	MaxSequences int           // generator samples in flight
	Latency      time.Duration // latency the fake server adds to every request
	CeilingFor   time.Duration // how long to measure the fake's own ceiling
}

const benchModel = "bench/instruct"

// benchRespond is a realistic instruct answer: prose, a fenced function, a closing remark.
func benchRespond(r openaifake.Request, i int) (string, string) {
	return fmt.Sprintf("Here is the Python function:\n\n```python\ndef solve(xs, k):\n    \"\"\"Return the k-th smallest distinct value.\"\"\"\n    seen = sorted(set(xs))\n    if k > len(seen):\n        return None\n    return seen[k - 1] + %d\n```\n\nThe function sorts the distinct values and indexes them.", i%7), "stop"
}

// Generator measures the generator processor's throughput: o.Prompts prompts of o.N samples
// published to an embedded broker, answered by an in-process fake OpenAI-compatible server whose
// own ceiling (plain HTTP clients at the same concurrency) is measured first in the same run. Its
// last line is "completions/s: N  in-flight: M".
func Generator(ctx context.Context, env *config.Env, o GeneratorOptions, w io.Writer) error {
	srv := openaifake.New(openaifake.Options{Respond: benchRespond, Latency: o.Latency})
	defer srv.Close()
	srv.StopRecording()
	fmt.Fprintf(w, "machine: %s\n", machine())

	ceiling, err := fakeCeiling(ctx, srv, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "fake ceiling (plain HTTP clients, %d requests of n=%d in flight): %.0f completions/s\n", o.MaxRequests, o.MaxN, ceiling)

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "codeverify-bench-generator-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := streams.StartBroker(dir, 0, log)
	if err != nil {
		return err
	}
	defer b.Close()
	benv := &config.Env{Config: env.Config, Log: log, Security: env.Security}
	benv.Config.Brokers = []string{b.Addr()}
	if err := streams.EnsureTopics(ctx, benv.Cluster(), streams.DefaultCatalog()); err != nil {
		return err
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return err
	}
	problems := make([]schemas.Problem, o.Prompts)
	for i := range problems {
		problems[i] = schemas.Problem{ProblemID: fmt.Sprintf("bench/%d", i), Benchmark: "bench", Split: "train", EntryPoint: "solve",
			Prompt: fmt.Sprintf("Write a function to find the %d-th smallest distinct value of a list.", i), TestStyle: schemas.StyleAsserts,
			Tests: []string{"assert solve([3, 1, 2], 1) == 1", "assert solve([5, 5, 4], 2) == 5", "assert solve([], 1) is None"}}
	}
	if err := pipeline.PublishProblems(ctx, benv, codecs, problems); err != nil {
		return err
	}
	prompts := producers.BuildPrompts(problems, producers.PromptOptions{Model: benchModel, N: int32(o.N), Seed: 1})
	pp := streams.NewProducer(benv.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	err = pp.Publish(ctx, prompts...)
	pp.Close()
	if err != nil {
		return err
	}
	models, err := generator.NewModels(generator.Model{Name: benchModel, API: generator.APIChat, SystemPrompt: generator.DeepSeekCoderSystemPrompt, MaxN: o.MaxN})
	if err != nil {
		return err
	}
	rec, err := generator.NewMetrics(nil)
	if err != nil {
		return err
	}
	r, _, err := pipeline.NewGeneratorRunner(ctx, benv, codecs, models, pipeline.GeneratorOptions{BaseURL: srv.BaseURL(), MaxRequests: o.MaxRequests,
		MaxSequences: o.MaxSequences, MaxAttempts: 6, Timeout: time.Minute}, rec)
	if err != nil {
		return err
	}
	want := int64(o.Prompts * o.N)
	callsBefore := srv.Calls()
	srv.ResetPeak() // the ceiling run's peak is not the processor's
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(runCtx) }()
	var first time.Time
	var firstOut int64
	var peak float64
	for {
		st := r.Stats()
		if seq := rec.Value("sequences_in_flight", ""); seq > peak {
			peak = seq
		}
		if first.IsZero() && st.Outputs > 0 {
			first, firstOut = time.Now(), st.Outputs
		}
		if st.Outputs >= want || st.DeadLettered > 0 {
			break
		}
		select {
		case err := <-done:
			return fmt.Errorf("runner stopped early: %w (stats %+v)", err, st)
		case <-ctx.Done():
			stop()
			<-done
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	end := time.Now()
	st := r.Stats()
	stop()
	if err := <-done; err != nil {
		return err
	}
	if st.DeadLettered > 0 || st.Outputs < want {
		return fmt.Errorf("bench: %d dead-lettered, %d of %d candidates", st.DeadLettered, st.Outputs, want)
	}
	rate := float64(st.Outputs-firstOut) / end.Sub(first).Seconds()
	fmt.Fprintf(w, "processor: %d prompts × n=%d → %d candidates in %.2fs (%.2fs from the first candidate; includes consumer-group join before it), %d requests, %d transient errors\n",
		o.Prompts, o.N, st.Outputs, end.Sub(start).Seconds(), end.Sub(first).Seconds(), srv.Calls()-callsBefore, st.Errors)
	fmt.Fprintf(w, "processor/ceiling: %.2f (the fake, the broker and the processor share %d CPUs)\n", rate/ceiling, runtime.NumCPU())
	// in-flight is what the processor keeps open: samples of requests sent and not yet answered. At
	// zero latency the fake answers each request in microseconds, so fewer overlap inside it.
	fmt.Fprintf(w, "peak in flight: %.0f samples requested and unanswered by the generator, %d being answered inside the fake at once\n", peak, srv.PeakInFlight())
	fmt.Fprintf(w, "completions/s: %.0f  in-flight: %.0f\n", rate, peak)
	return nil
}

// fakeCeiling is the fake server's own throughput: the same concurrency and request size, bodies
// read and discarded, no extraction, no Kafka.
func fakeCeiling(ctx context.Context, srv *openaifake.Server, o GeneratorOptions) (float64, error) {
	body, _ := json.Marshal(map[string]any{"model": benchModel, "n": o.MaxN, "temperature": 1.0, "max_tokens": 512,
		"messages": []map[string]string{{"role": "system", "content": generator.DeepSeekCoderSystemPrompt}, {"role": "user", "content": "Write a function to find the 3-th smallest distinct value of a list."}}})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * o.MaxRequests
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	before := srv.Completions()
	deadline := time.Now().Add(o.CeilingFor)
	var wg sync.WaitGroup
	errs := make(chan error, o.MaxRequests)
	start := time.Now()
	for range o.MaxRequests {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				resp, err := client.Post(srv.BaseURL()+"/chat/completions", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return 0, fmt.Errorf("fake ceiling: %w", err)
	default:
	}
	return float64(srv.Completions()-before) / time.Since(start).Seconds(), nil
}
