package reranker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
)

// closingScorer records its Close and says which provider it runs on.
type closingScorer struct {
	lenScorer
	closed int
}

func (s *closingScorer) Close() error     { s.closed++; return nil }
func (s *closingScorer) Provider() string { return "cpu" }

// registry is a fake opener over manifests by directory.
type registry struct {
	manifests map[string]model.Manifest
	scorers   map[string]*closingScorer
	opened    []string
}

func (r *registry) open(dir string, check func(model.Manifest) error) (Model, model.Manifest, error) {
	m, ok := r.manifests[dir]
	if !ok {
		return Model{}, m, fmt.Errorf("no manifest.json in %s", dir)
	}
	if check != nil {
		if err := check(m); err != nil {
			return Model{}, m, err
		}
	}
	r.opened = append(r.opened, dir)
	s := &closingScorer{}
	r.scorers[m.Version] = s
	return testModel(m.Version, s, 16), m, nil
}

func offer(m model.Manifest, dir string) Offer {
	return Offer{Source: "test", Version: m.Version, Created: m.CreatedAt, Dir: func() (string, error) { return dir, nil }}
}

// TestVersionsMoveForwardAndRetire: only a newer version (by creation time, then name) is opened
// and swapped in; one that cannot be used is counted and the old one keeps serving; an old version
// is closed once the last request on it is selected, the rest when the Processor closes.
func TestVersionsMoveForwardAndRetire(t *testing.T) {
	v1 := model.Manifest{Version: "v1", CreatedAt: t0}
	v2 := model.Manifest{Version: "v2", CreatedAt: t0.Add(time.Hour)}
	v2b := model.Manifest{Version: "v2b", CreatedAt: v2.CreatedAt}
	old := model.Manifest{Version: "v0", CreatedAt: t0.Add(-time.Hour)}
	reg := &registry{manifests: map[string]model.Manifest{"d1": v1, "d2": v2, "d2b": v2b, "d0": old}, scorers: map[string]*closingScorer{}}
	first, _, _ := reg.open("d1", nil)
	j, err := NewJoin(first, Options{Bound: time.Minute, OnRetire: func(m Model) { m.Close() }})
	if err != nil {
		t.Fatal(err)
	}
	p := j.Processor()
	var logs bytes.Buffer
	vs := NewVersions(p, v1, reg.open, slog.New(slog.NewJSONHandler(&logs, nil)))

	j.Expect("under way", 2, t0)
	j.Candidate(Candidate{RequestID: "under way", CandidateID: "a", Code: "a"}, "p", t0, func(schemas.Score) {})

	for _, o := range []Offer{offer(old, "d0"), offer(v1, "d1")} {
		if ok, err := vs.Offer(o); ok || err != nil {
			t.Errorf("offer of %s while v1 serves: %v %v", o.Version, ok, err)
		}
	}
	bad := offer(v2, "d2")
	bad.Check = func(model.Manifest) error { return errors.New("checksum mismatch") }
	if ok, err := vs.Offer(bad); ok || err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("offer failing its check: %v %v", ok, err)
	}
	missing := offer(v2, "nowhere")
	if ok, err := vs.Offer(missing); ok || err == nil {
		t.Errorf("offer without files: %v %v", ok, err)
	}
	if p.Version() != "v1" || vs.Failures() != 2 || vs.Swaps() != 0 || fmt.Sprint(reg.opened) != "[d1]" {
		t.Fatalf("after bad offers: serving %s, failures %d, swaps %d, opened %v", p.Version(), vs.Failures(), vs.Swaps(), reg.opened)
	}

	if ok, err := vs.Offer(offer(v2, "d2")); !ok || err != nil {
		t.Fatalf("offer of v2: %v %v", ok, err)
	}
	if ok, err := vs.Offer(offer(v2b, "d2b")); !ok || err != nil { // same time, later name
		t.Fatalf("offer of v2b: %v %v", ok, err)
	}
	if p.Version() != "v2b" || p.Current().Provider() != "cpu" || vs.Swaps() != 2 {
		t.Errorf("serving %s on %q after %d swaps", p.Version(), p.Current().Provider(), vs.Swaps())
	}
	if !strings.Contains(logs.String(), `"msg":"reranker model swapped in","model":"v2b","provider":"cpu","source":"test","dir":"d2b"`) {
		t.Errorf("swap log:\n%s", logs.String())
	}
	// v2 never had a request: retired at once. v1 waits for the request under way.
	if reg.scorers["v2"].closed != 1 || reg.scorers["v1"].closed != 0 {
		t.Fatalf("closed v1 %d, v2 %d", reg.scorers["v1"].closed, reg.scorers["v2"].closed)
	}
	j.Candidate(Candidate{RequestID: "under way", CandidateID: "b", Code: "b"}, "p", t0, func(schemas.Score) {})
	sels, err := j.Flush(context.Background(), t0)
	if err != nil || len(sels) != 1 || sels[0].ModelVersion != "v1" {
		t.Fatalf("request under way: %+v %v", sels, err)
	}
	if reg.scorers["v1"].closed != 1 {
		t.Error("v1 not closed once its last request was selected")
	}
	if err := p.Close(); err != nil || reg.scorers["v2b"].closed != 1 || reg.scorers["v1"].closed != 1 {
		t.Errorf("Close: %v; v2b closed %d, v1 %d", err, reg.scorers["v2b"].closed, reg.scorers["v1"].closed)
	}
}
