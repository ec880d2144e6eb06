package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/processors/reranker"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/serving"
	"github.com/codeverify/codeverify/streams"
)

// rerankOpener opens model versions (a version directory, or a registry's newest) as ONNX Runtime
// sessions with rt, scoring at most maxBatch candidates a run. check runs on the manifest, whose
// model file LoadModel has verified, before a session opens.
func rerankOpener(rt serving.Runtime, maxBatch int, log *slog.Logger) reranker.Opener {
	return func(dir string, check func(model.Manifest) error) (reranker.Model, model.Manifest, error) {
		m, err := serving.LoadModel(dir)
		if err == nil && check != nil {
			err = check(m.Manifest)
		}
		if err != nil {
			return reranker.Model{}, m.Manifest, err
		}
		sess, err := rt.Session(m, log)
		if err != nil {
			return reranker.Model{}, m.Manifest, err
		}
		rm := reranker.Model{Version: m.Manifest.Version, Tokenizer: m.Tokenizer, Scorer: sess, MaxBatch: maxBatch,
			Features: m.Manifest.FeatureNames()}
		if err := rm.Validate(); err != nil {
			sess.Close()
			return reranker.Model{}, m.Manifest, err
		}
		return rm, m.Manifest, nil
	}
}

func (r *Reranker) pollEvery() time.Duration {
	if r.registry == "" {
		return 0
	}
	return r.cfg.ReloadEvery
}

func (r *Reranker) followsModels() bool { return r.registry != "" && r.cfg.ModelsTopic }

// reloadLoop offers the registry's newest version whenever it polls. A version that fails to load
// is logged once and not retried until a newer one appears.
func (r *Reranker) reloadLoop(ctx context.Context) error {
	if r.pollEvery() <= 0 {
		return nil
	}
	t := time.NewTicker(r.pollEvery())
	defer t.Stop()
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		versions, err := model.Registry{Dir: r.registry}.List()
		if err != nil || len(versions) == 0 {
			if err != nil {
				r.env.Log.Warn("model registry poll failed", "dir", r.registry, "err", err)
			}
			continue
		}
		newest := versions[len(versions)-1]
		if newest.Version == failed {
			continue
		}
		dir := filepath.Join(r.registry, newest.Version)
		_, err = r.versions.Offer(reranker.Offer{Source: "registry", Version: newest.Version, Created: newest.CreatedAt,
			Dir: func() (string, error) { return dir, nil }})
		if err != nil {
			failed = newest.Version
			r.env.Log.Error("new model version not loaded; still serving the old one", "model", newest.Version, "serving", r.join.Processor().Version(), "err", err)
		}
	}
}

// modelsLoop follows the models topic from its last announcement on (the newest version announced,
// also when that happened while this reranker was down) and offers every version announced after.
// Its reader is not a consumer group: every replica sees every announcement, and nothing is
// committed because a restart starts from the last announcement again. Errors never stop the
// reranker: the tail resumes after the last event seen, with backoff.
func (r *Reranker) modelsLoop(ctx context.Context) error {
	if !r.followsModels() {
		return nil
	}
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		return err
	}
	next := streams.TailLast
	bo := backoff.New(time.Second, 30*time.Second)
	for {
		err := streams.Tail(ctx, r.env.Cluster(), streams.TopicModels, 0, next, func(m streams.Message) {
			next = m.Offset + 1
			bo.Reset()
			r.modelEvent(codec, m)
		})
		if ctx.Err() != nil {
			return nil
		}
		r.env.Log.Warn("following the models topic failed; retrying", "topic", streams.TopicModels, "offset", next, "err", err)
		if bo.Wait(ctx) != nil {
			return nil
		}
	}
}

// modelEvent offers one announced version. A bad event is logged with its reason and counted; the
// version serving keeps serving.
func (r *Reranker) modelEvent(codec *schemas.Codec[schemas.ModelEvent], m streams.Message) {
	r.modelEvents.Add(1)
	log := r.env.Log.With("topic", streams.TopicModels, "partition", m.Partition, "offset", m.Offset)
	ev, err := model.DecodeEvent(codec, m.Value)
	swapped := false
	if err == nil {
		swapped, err = r.versions.Offer(reranker.Offer{Source: "models topic", Version: ev.Version, Created: model.EventTime(ev),
			Dir:   func() (string, error) { return r.announcedDir(ev) },
			Check: func(m model.Manifest) error { return model.Matches(ev, m) }})
	}
	switch {
	case err != nil:
		r.modelEventsRejected.Add(1)
		log.Error("announced model version not loaded; still serving the old one", "model", ev.Version, "serving", r.join.Processor().Version(), "err", err)
	case !swapped:
		log.Info("announced model version is not newer than the one serving; ignored", "model", ev.Version, "serving", r.join.Processor().Version())
	}
}

// announcedDir is where an announced version's files are on this host: the trainer's path when it
// exists here, else the same version in this reranker's registry.
func (r *Reranker) announcedDir(ev schemas.ModelEvent) (string, error) {
	var tried []string
	for _, dir := range []string{ev.Path, filepath.Join(r.registry, ev.Version)} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("version %s: no manifest.json in %s", ev.Version, strings.Join(tried, " or "))
}
