package trainer

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// Where a dataset's labels come from (DatasetSpec.Labels).
const (
	LabelsTopic      = "topic"      // replay the verdicts topic
	LabelsClickHouse = "clickhouse" // the verdicts table, e.g. after the topic's retention
)

// DatasetSpec chooses and replays the labelled data: the train and export commands' dataset flags,
// named after them in errors.
type DatasetSpec struct {
	Splits, Benchmarks, Models []string // keep only these (empty: all)
	Since                      string   // RFC 3339: replay verdicts from then on (empty: the beginning)
	Offsets                    string   // explicit start offsets, topic:partition=offset,…
	Labels                     string   // LabelsTopic (or empty) | LabelsClickHouse
	K, Folds                   int
	DrawSize, Draws            int // Draws 0: each request whole, K FAILs per PASS
	Seed                       uint64
}

// ReplayOptions are where the replay starts, with a progress bar on progress.
func (d DatasetSpec) ReplayOptions(progress io.Writer) (ReplayOptions, error) {
	opt := ReplayOptions{Progress: progress}
	if d.Since != "" {
		t, err := time.Parse(time.RFC3339, d.Since)
		if err != nil {
			return opt, fmt.Errorf("--since: %w", err)
		}
		opt.Since = t
	}
	offs, err := ParseOffsets(d.Offsets)
	if err != nil {
		return opt, err
	}
	opt.Offsets = offs
	switch d.Labels {
	case LabelsTopic, "":
	case LabelsClickHouse:
		if _, ok := opt.Offsets[streams.TopicVerdicts]; ok {
			return opt, fmt.Errorf("--labels clickhouse reads no verdicts topic: drop the verdicts offsets")
		}
		opt.NoVerdicts = true
	default:
		return opt, fmt.Errorf("--labels %q: want topic or clickhouse", d.Labels)
	}
	return opt, nil
}

// BuildOptions are how the dataset is built from what was replayed.
func (d DatasetSpec) BuildOptions() BuildOptions {
	o := BuildOptions{Splits: d.Splits, Benchmarks: d.Benchmarks, Models: d.Models, K: d.K, Seed: d.Seed, Folds: d.Folds}
	if d.Draws > 0 {
		o.DrawSize, o.Draws = d.DrawSize, d.Draws
	}
	return o
}

// VerdictSource reads the labels from a store instead of the verdicts topic (ClickHouse's verdicts
// table, which this package does not reach itself): the verdicts executed since since, and where
// they came from, in words.
type VerdictSource func(ctx context.Context, since time.Time) (verdicts []schemas.Verdict, from string, err error)

// LoadDataset replays the labelled topics (a progress bar on progress) and builds the dataset,
// reporting what it did on w. With LabelsClickHouse the verdicts come from store.
func LoadDataset(ctx context.Context, kafka streams.Cluster, d DatasetSpec, store VerdictSource, progress, w io.Writer) (*Dataset, *Replayed, error) {
	ropt, err := d.ReplayOptions(progress)
	if err != nil {
		return nil, nil, err
	}
	if ropt.NoVerdicts && store == nil {
		return nil, nil, fmt.Errorf("--labels clickhouse: no verdict store")
	}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		return nil, nil, err
	}
	rep, err := ReplayLabeled(ctx, kafka, codecs, ropt)
	if err != nil {
		return nil, nil, err
	}
	if ropt.NoVerdicts {
		if rep.Verdicts, rep.LabelsFrom, err = store(ctx, ropt.Since); err != nil {
			return nil, nil, fmt.Errorf("--labels clickhouse: %w", err)
		}
		fmt.Fprintf(w, "labels: %s\n", rep.LabelsFrom)
	}
	return BuildReplayed(rep, d, w)
}

// BuildReplayed joins what was replayed (or read from an export) into the dataset, reporting on w.
func BuildReplayed(rep *Replayed, d DatasetSpec, w io.Writer) (*Dataset, *Replayed, error) {
	ds, err := BuildWithBehaviors(rep.Problems, rep.Candidates, rep.Verdicts, rep.Behaviors, d.BuildOptions())
	if err != nil {
		return nil, nil, err
	}
	s := ds.Stats
	fmt.Fprintf(w, "replayed %d problems, %d candidates, %d verdicts, %d behaviours (undecodable: %v)\n", len(rep.Problems), len(rep.Candidates), len(rep.Verdicts), len(rep.Behaviors), rep.Undecodable)
	if ds.Options.Drawn() {
		fmt.Fprintf(w, "dataset %s: %d problems, %d requests (%d drawn from: %d draws of %d candidates; %d whole) = %d draws, %d examples (%d PASS, %d FAIL), %d PASS×FAIL pairs within draws\n",
			ds.Hash[:12], s.Problems, s.Requests, s.RequestsDrawn, s.Draws, s.DrawSize, s.RequestsWhole, s.Groups, s.Examples, s.Pass, s.Fail, s.Pairs)
	} else {
		fmt.Fprintf(w, "dataset %s: %d problems, %d requests, %d examples (%d PASS, %d FAIL), %d pairs within requests (k=%d)\n", ds.Hash[:12], s.Problems, s.Requests, s.Examples, s.Pass, s.Fail, s.Pairs, d.K)
	}
	fmt.Fprintf(w, "  behaviour features (%d): %d examples with a behaviour, %d without (features of \"no tests\"), %d behaviours without a candidate; %d requests without a PASS×FAIL pair\n",
		len(ds.Features.Names), s.ExamplesWithBehavior, s.ExamplesWithoutBehavior, s.BehaviorsWithoutCandidate, s.RequestsWithoutPairs)
	if s.ExamplesWithBehavior == 0 {
		fmt.Fprintf(w, "  warning: no candidate has a behaviour (nothing on the %s topic?): the features carry no signal\n", streams.TopicBehaviors)
	}
	fmt.Fprintf(w, "  problems without PASS %d, without FAIL %d; duplicates dropped %d, filtered out %d, candidates without verdict %d, verdicts without candidate %d, candidates without problem %d\n",
		s.ProblemsWithoutPass, s.ProblemsWithoutFail, s.DuplicatesDropped, s.FilteredOut, s.CandidatesWithoutVerdict, s.VerdictsWithoutCandidate, s.CandidatesWithoutProblem)
	return ds, rep, nil
}
