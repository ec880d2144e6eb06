package reranker

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/model"
)

// Opener opens the model version in dir for scoring. check, when set, vets the version's manifest
// (its model file verified) before anything heavy is opened; its error is the opener's.
type Opener func(dir string, check func(model.Manifest) error) (Model, model.Manifest, error)

// Offer is a version a reload source found: its files are at Dir() once the offer is taken.
type Offer struct {
	Source  string // where it was found, for the logs ("registry", "models topic")
	Version string
	Created time.Time
	Dir     func() (string, error)
	Check   func(model.Manifest) error // nil: the opener's own checks only
}

// newer orders versions as the registry lists them: by creation time, then by name.
func (o Offer) newer(than model.Manifest) bool {
	if c := o.Created.Compare(than.CreatedAt); c != 0 {
		return c > 0
	}
	return o.Version > than.Version
}

// Versions swaps offered versions into a Processor. Versions only move forward (see Offer), so two
// sources cannot swap each other's versions back and forth, and a retiring version is never
// offered again. Safe for concurrent use: one offer is taken at a time.
type Versions struct {
	p    *Processor
	open Opener
	log  *slog.Logger

	mu      sync.Mutex
	serving model.Manifest // the version new requests get

	swaps, failures atomic.Int64
}

// NewVersions offers versions to p, whose current model is serving's version.
func NewVersions(p *Processor, serving model.Manifest, open Opener, log *slog.Logger) *Versions {
	return &Versions{p: p, open: open, log: log, serving: serving}
}

// Offer opens an offered version and makes it the one new requests get when it is newer than the
// one serving; it reports whether it swapped. On an error the version serving keeps serving.
func (v *Versions) Offer(o Offer) (bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !o.newer(v.serving) {
		return false, nil
	}
	dir, err := o.Dir()
	var m Model
	var manifest model.Manifest
	if err == nil {
		m, manifest, err = v.open(dir, o.Check)
	}
	if err == nil {
		if err = v.p.Swap(m); err != nil {
			m.Close()
		}
	}
	if err != nil {
		v.failures.Add(1)
		return false, err
	}
	v.serving = manifest
	v.swaps.Add(1)
	v.log.Info("reranker model swapped in", "model", o.Version, "provider", m.Provider(), "source", o.Source, "dir", dir)
	return true, nil
}

// Swaps counts the versions swapped in; Failures those offered, newer, and not usable.
func (v *Versions) Swaps() int64 { return v.swaps.Load() }

// Failures counts the versions offered, newer than the one serving, and not usable.
func (v *Versions) Failures() int64 { return v.failures.Load() }
