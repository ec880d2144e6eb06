package trainer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/internal/progress"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// ReplayOptions says where each topic's replay starts. Since cuts the verdicts topic only: it means
// "labels produced since then", while problems and candidates are the tables those labels are
// joined with and are read whole. Offsets (topic → partition → offset) apply to any topic.
type ReplayOptions struct {
	Since   time.Time
	Offsets map[string]map[int]int64
	// Progress, if set, receives a progress bar (e.g. os.Stderr).
	Progress io.Writer
	// NoVerdicts leaves the verdicts topic unread: the labels come from elsewhere (ClickHouse).
	NoVerdicts bool
}

// Replayed is what a replay of the labeled topics returned, and exactly what it consumed.
type Replayed struct {
	Problems    []schemas.Problem
	Candidates  []schemas.Candidate
	Verdicts    []schemas.Verdict
	Behaviors   []schemas.Behavior
	Consumed    []streams.ConsumedRange
	Undecodable map[string]int
	// LabelsFrom says where Verdicts came from when not from the verdicts topic (e.g. ClickHouse).
	LabelsFrom string
}

// ReplayLabeled reads the problems, candidates, verdicts and behaviors topics with its own readers
// (no consumer group: live groups and their offsets are untouched). The behaviors topic is read
// whole, like candidates: behaviours are inputs of the features, not labels. It is created (empty)
// when it does not exist yet, so a broker that never saw a behaviour trains on "no tests" features.
func ReplayLabeled(ctx context.Context, kafka streams.Cluster, codecs *schemas.Codecs, opt ReplayOptions) (*Replayed, error) {
	r := &Replayed{Undecodable: map[string]int{}}
	bar := newReplayProgress(opt.Progress)
	defer bar.done()
	from := func(topic string) streams.ReplayFrom {
		f := streams.ReplayFrom{Offsets: opt.Offsets[topic]}
		if topic == streams.TopicVerdicts {
			f.Since = opt.Since
		}
		return f
	}
	var err error
	if r.Problems, err = replayInto(ctx, kafka, streams.TopicProblems, codecs.Problem, from(streams.TopicProblems), r, bar); err != nil {
		return nil, err
	}
	if r.Candidates, err = replayInto(ctx, kafka, streams.TopicCandidates, codecs.Candidate, from(streams.TopicCandidates), r, bar); err != nil {
		return nil, err
	}
	behaviors, err := streams.DefaultTopology().Select(streams.TopicBehaviors)
	if err != nil {
		return nil, err
	}
	if err := streams.EnsureTopics(ctx, kafka, behaviors); err != nil {
		return nil, err
	}
	if r.Behaviors, err = replayInto(ctx, kafka, streams.TopicBehaviors, codecs.Behavior, from(streams.TopicBehaviors), r, bar); err != nil {
		return nil, err
	}
	if opt.NoVerdicts {
		return r, nil
	}
	if r.Verdicts, err = replayInto(ctx, kafka, streams.TopicVerdicts, codecs.Verdict, from(streams.TopicVerdicts), r, bar); err != nil {
		return nil, err
	}
	return r, nil
}

func replayInto[T any](ctx context.Context, kafka streams.Cluster, topic string, codec *schemas.Codec[T], from streams.ReplayFrom, r *Replayed, bar *replayProgress) ([]T, error) {
	var out []T
	ranges, bad, err := streams.Replay(ctx, kafka, topic, codec, from, func(v T, _ streams.ReplayRecord) { out = append(out, v) }, bar.update)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", topic, err)
	}
	r.Consumed = append(r.Consumed, ranges...)
	if bad > 0 {
		r.Undecodable[topic] = bad
	}
	return out, nil
}

// ParseOffsets parses "topic:partition=offset,…" (e.g. "verdicts:0=1200,verdicts:3=980").
func ParseOffsets(s string) (map[string]map[int]int64, error) {
	out := map[string]map[int]int64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		var topic string
		var part int
		var off int64
		tp, o, ok := strings.Cut(strings.TrimSpace(item), "=")
		t, p, ok2 := strings.Cut(tp, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("offsets: %q is not topic:partition=offset", item)
		}
		topic = t
		if _, err := fmt.Sscanf(p+" "+o, "%d %d", &part, &off); err != nil || part < 0 || off < 0 || topic == "" {
			return nil, fmt.Errorf("offsets: %q is not topic:partition=offset", item)
		}
		if out[topic] == nil {
			out[topic] = map[int]int64{}
		}
		out[topic][part] = off
	}
	return out, nil
}

// replayProgress reports each topic's replay in turn ("replay verdicts 5000/10000"), through
// internal/progress: a bar on a terminal, plain lines in a log.
type replayProgress struct {
	mu    sync.Mutex
	w     io.Writer
	topic string
	cur   *progress.Reporter
}

func newReplayProgress(w io.Writer) *replayProgress { return &replayProgress{w: w} }

func (p *replayProgress) update(topic string, read, total int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if topic != p.topic {
		p.cur.Finish()
		p.topic, p.cur = topic, progress.New(p.w, "replay "+topic, total)
	}
	p.cur.Set(read)
}

func (p *replayProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur.Finish()
	p.topic, p.cur = "", nil
}
