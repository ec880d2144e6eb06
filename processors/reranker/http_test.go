package reranker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRerankHTTP(t *testing.T) {
	m := testModel("v7", &lenScorer{}, 2)
	srv := httptest.NewServer(Handler(func() Model { return m }, HandlerOptions{MaxBodyBytes: 2000, MaxCandidates: 4}))
	defer srv.Close()
	post := func(body string) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("status %d: body not JSON: %v", resp.StatusCode, err)
		}
		return resp, out
	}
	resp, out := post(`{"prompt": "def f():", "candidates": ["return 10", "return 1", "return 100", "return 2"]}`)
	if resp.StatusCode != 200 || out["best_index"].(float64) != 1 || out["model_version"] != "v7" || len(out["energies"].([]any)) != 4 {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
	for body, code := range map[string]int{
		`{"prompt": "p", "candidates": []}`:                    400,
		`{"prompt": "p", "candidates": ["a","b","c","d","e"]}`: 400,
		`{"prompt": "p", "candidates": "a"}`:                   400,
		`{"prompt": "p", "candidates": ["a"], "extra": 1}`:     400,
		`not json`: 400,
		`{"prompt": "` + strings.Repeat("x", 3000) + `", "candidates": ["a"]}`: 413,
	} {
		resp, out := post(body)
		if resp.StatusCode != code || out["error"] == nil {
			t.Errorf("%.40s…: %d %v, want %d with an error", body, resp.StatusCode, out, code)
		}
	}
	r, _ := http.Get(srv.URL)
	if r.StatusCode != 405 {
		t.Errorf("GET: %d", r.StatusCode)
	}
	r.Body.Close()
}
