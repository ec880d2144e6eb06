package reranker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Whatever a client posts, the handler answers with JSON, never panics, and a 200 holds one energy
// per candidate and a best index among them.
func FuzzRerankHandler(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "def f():", "candidates": ["return 10", "return 1"]}`,
		`{"prompt": "p", "candidates": []}`, `{"prompt": "p", "candidates": "a"}`, `{"prompt": "p", "candidates": ["a"], "extra": 1}`,
		`not json`, `{"prompt": "p", "candidates": ["a"]} {"prompt": "q"}`, `{"candidates": [null, "\u0000"]}`, ``, `[]`, `null`,
	} {
		f.Add(s, "POST")
	}
	f.Add(`{"prompt": "p", "candidates": ["a"]}`, "GET")
	m := testModel("v7", &lenScorer{}, 2)
	h := Handler(func() Model { return m }, HandlerOptions{MaxBodyBytes: 4096, MaxCandidates: 8})
	f.Fuzz(func(t *testing.T, body, method string) {
		if method != "POST" && method != "GET" && method != "PUT" {
			method = "POST"
		}
		req := httptest.NewRequest(method, "/v1/rerank", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("status %d with content type %q", rec.Code, ct)
		}
		if rec.Code != http.StatusOK {
			var e map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" {
				t.Fatalf("status %d without a JSON error: %q", rec.Code, rec.Body.String())
			}
			return
		}
		var req2 RerankRequest
		_ = json.Unmarshal([]byte(body), &req2)
		var resp RerankResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("200 without a rerank response: %v", err)
		}
		if len(resp.Energies) != len(req2.Candidates) || resp.BestIndex < 0 || resp.BestIndex >= len(resp.Energies) {
			t.Fatalf("%d energies for %d candidates, best %d", len(resp.Energies), len(req2.Candidates), resp.BestIndex)
		}
	})
}
