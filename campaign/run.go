package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// Env is what a campaign runs against.
type Env struct {
	Cluster streams.Cluster
	Log     *slog.Logger
	Out     io.Writer // progress lines and the summary, for people
	// Connect, when set, is called once the command line and the problems file were found good and
	// before anything is read: it checks the brokers (and for Run creates the topics).
	Connect func(context.Context) error
}

// LoadProblems reads the problems file and returns every problem (the generator's few-shot examples
// come from the whole file) and those of the chosen splits (all when splits is empty).
func LoadProblems(path string, splits []string) (all, chosen []schemas.Problem, err error) {
	if path == "" {
		return nil, nil, errors.New("--problems is required")
	}
	if all, err = producers.LoadProblems(path); err != nil {
		return nil, nil, fmt.Errorf("problems file: %w", err)
	}
	if chosen = producers.FilterSplit(all, splits...); len(chosen) == 0 {
		return nil, nil, fmt.Errorf("%s: no problems in splits %v", path, splits)
	}
	return all, chosen, nil
}

// Run runs the campaign until every problem met its target (nil), a budget is spent or the
// generator gave up on a problem (an error saying so), or ctx ends. It publishes the problems
// first, then reads everything the topics hold about the campaign and goes on from there.
func Run(ctx context.Context, env Env, c Config) error {
	err := run(ctx, env, c)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("campaign %s interrupted (the same command resumes it): %w", c.Name, ctx.Err())
	}
	return err
}

func run(ctx context.Context, env Env, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	all, chosen, err := LoadProblems(c.ProblemsPath, c.Splits)
	if err != nil {
		return err
	}
	src, err := connect(ctx, env, c.Name)
	if err != nil {
		return err
	}
	codecs := src.codecs
	problems := streams.NewProducer(env.Cluster, streams.TopicProblems, codecs.Problem, func(p schemas.Problem) string { return p.ProblemID })
	err = retry(ctx, env.Log, "publish "+streams.TopicProblems, func() error { return problems.Publish(ctx, all...) })
	problems.Close()
	if err != nil {
		return err
	}
	if err := retry(ctx, env.Log, "read the campaign's topics", func() error { return src.refresh(ctx) }); err != nil {
		return err
	}
	st := src.state
	env.Log.Info("campaign started", "campaign", c.Name, "problems", len(chosen), "target", c.target(),
		"rounds", st.MaxRound, "requests", st.Requests(), "completion_tokens", st.Tokens())
	prompts := streams.NewProducer(env.Cluster, streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	defer prompts.Close()
	var waitLogged time.Time
	for {
		d := Plan(c, chosen, st, time.Now())
		switch {
		case d.Done || d.Stop != "":
			met := 0
			for _, p := range chosen {
				if c.Met(st.Problem(p.ProblemID)) {
					met++
				}
			}
			fmt.Fprintf(env.Out, "campaign %s: %d of %d problems at %s; %d rounds, %d requests, %d completion tokens\n",
				c.Name, met, len(chosen), c.target(), st.MaxRound, st.Requests(), st.Tokens())
			if d.Stop != "" {
				return fmt.Errorf("campaign %s stopped with %d of %d problems at their target: %s", c.Name, met, len(chosen), d.Stop)
			}
			if len(d.GivenUp) > 0 {
				return fmt.Errorf("campaign %s: the generator gave up on %d problems (%d prompts each dead-lettered, see %s): %v",
					c.Name, len(d.GivenUp), maxDeadLetters, streams.DLQTopic(streams.TopicPrompts), d.GivenUp)
			}
			return nil
		case len(d.Prompts) > 0:
			gen, exe, err := backlog(ctx, env.Cluster)
			if err != nil {
				env.Log.Warn("reading consumer lag failed, will retry", "err", err)
			} else if gen < c.MaxLag && exe < c.MaxLag {
				if err := publish(ctx, env, src, prompts, d.Prompts); err != nil {
					return err
				}
				samples := 0
				for _, p := range d.Prompts {
					samples += int(p.N)
				}
				fmt.Fprintf(env.Out, "round %d: %d prompts, %d samples (backlog before it: %d prompts, %d candidates)\n",
					d.Round, len(d.Prompts), samples, gen, exe)
				continue
			} else if time.Since(waitLogged) > 30*time.Second {
				// At most every 30 s: a stage that is not running keeps its lag up for good, and a line per
				// poll would flood the log.
				env.Log.Info("waiting for the generator and executor to catch up", "campaign", c.Name,
					"generator_lag", gen, "executor_lag", exe, "max_lag", c.MaxLag)
				waitLogged = time.Now()
			}
		}
		if err := sleep(ctx, c.Poll); err != nil {
			return err
		}
		if err := retry(ctx, env.Log, "read the campaign's topics", func() error { return src.refresh(ctx) }); err != nil {
			return err
		}
	}
}

// publish writes one round's prompts and waits until the topic reads them back, so the next plan is
// made from the topic and not from what was meant to be written. A retried write republishes the
// same request ids, which the generator answers with the same candidate ids.
func publish(ctx context.Context, env Env, src *source, p *streams.Producer[schemas.Prompt], prompts []schemas.Prompt) error {
	if err := retry(ctx, env.Log, "publish "+streams.TopicPrompts, func() error { return p.Publish(ctx, prompts...) }); err != nil {
		return err
	}
	for {
		if err := retry(ctx, env.Log, "read the campaign's topics", func() error { return src.refresh(ctx) }); err != nil {
			return err
		}
		all := true
		for _, pr := range prompts {
			pg := src.state.Problem(pr.ProblemID)
			if r := pg.requests[pr.RequestID]; r == nil || !r.published {
				all = false
			}
		}
		if all {
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// backlog is the generator's lag on prompts and the executor's on candidates, in messages.
func backlog(ctx context.Context, c streams.Cluster) (generator, executor int64, err error) {
	sum := func(group, topic string) (int64, error) {
		lags, err := streams.GroupLag(ctx, c, group, topic)
		var n int64
		for _, l := range lags {
			n += l.Lag
		}
		return n, err
	}
	if generator, err = sum(streams.GroupGenerator, streams.TopicPrompts); err != nil {
		return 0, 0, err
	}
	executor, err = sum(streams.GroupExecutor, streams.TopicCandidates)
	return generator, executor, err
}

// source reads the topics into a State, each call from where the last one ended.
type source struct {
	cluster streams.Cluster
	codecs  *schemas.Codecs
	state   *State
	next    map[string]map[int]int64 // topic → partition → next offset to read
	bad     int                      // undecodable records skipped
}

// connect checks the brokers (env.Connect) and returns a source of the named campaign that has
// read nothing yet.
func connect(ctx context.Context, env Env, name string) (*source, error) {
	if env.Connect != nil {
		if err := env.Connect(ctx); err != nil {
			return nil, err
		}
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return nil, err
	}
	return &source{cluster: env.Cluster, codecs: codecs, state: NewState(name), next: map[string]map[int]int64{}}, nil
}

// refresh folds in everything the topics gained since the last call. The order of the topics does
// not matter for correctness: every count is of distinct ids, and a record not read yet only makes
// the plan wait longer. A failed call may have folded part of a topic in; the next reads it again.
func (s *source) refresh(ctx context.Context) error {
	st := s.state
	return errors.Join(
		follow(ctx, s, streams.TopicPrompts, s.codecs.Prompt, st.AddPrompt),
		follow(ctx, s, streams.DLQTopic(streams.TopicPrompts), s.codecs.Prompt, st.AddDeadPrompt),
		follow(ctx, s, streams.TopicCandidates, s.codecs.Candidate, st.AddCandidate),
		follow(ctx, s, streams.DLQTopic(streams.TopicCandidates), s.codecs.Candidate, st.AddDeadCandidate),
		follow(ctx, s, streams.TopicVerdicts, s.codecs.Verdict, st.AddVerdict),
	)
}

// follow folds what topic gained since s last read it into the state through add.
func follow[T any](ctx context.Context, s *source, topic string, codec *schemas.Codec[T], add func(T)) error {
	ranges, bad, err := streams.Replay(ctx, s.cluster, topic, codec, streams.ReplayFrom{Offsets: s.next[topic]},
		func(v T, _ streams.ReplayRecord) { add(v) }, nil)
	if err != nil {
		return err
	}
	s.bad += bad
	if s.next[topic] == nil {
		s.next[topic] = map[int]int64{}
	}
	for _, r := range ranges {
		s.next[topic][r.Partition] = r.End
	}
	return nil
}

// retry calls fn until it succeeds, backing off (jittered, up to 10 s) and logging each failure; it
// gives up when ctx ends or on a security failure, which no retry cures.
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	bo := backoff.New(100*time.Millisecond, 10*time.Second)
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if errors.Is(err, streams.ErrSecurity) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		log.Warn(what+" failed, will retry", "attempt", attempt, "err", err)
		if err := bo.Wait(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}

// sleep waits d, or returns the context's error when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
