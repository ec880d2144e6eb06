package reranker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// RerankRequest is the body of POST /v1/rerank.
type RerankRequest struct {
	Prompt     string   `json:"prompt"`
	Candidates []string `json:"candidates"`
}

// RerankResponse is its answer: one energy per candidate, in order, and the min-energy index
// (ties go to the smallest index).
type RerankResponse struct {
	ModelVersion string    `json:"model_version"`
	Energies     []float32 `json:"energies"`
	BestIndex    int       `json:"best_index"`
}

// HandlerOptions bound what one request may ask.
type HandlerOptions struct {
	MaxBodyBytes  int64 // default 1 MiB
	MaxCandidates int   // default 64
}

// Handler serves POST /v1/rerank with whatever model current returns at the time of the request.
func Handler(current func() Model, o HandlerOptions) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 64
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpError(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var req RerankRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, o.MaxBodyBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", o.MaxBodyBytes))
				return
			}
			httpError(w, http.StatusBadRequest, "body is not a rerank request {\"prompt\": string, \"candidates\": [string]}: "+err.Error())
			return
		}
		if dec.More() {
			httpError(w, http.StatusBadRequest, "body holds more than one JSON value")
			return
		}
		switch {
		case len(req.Candidates) == 0:
			httpError(w, http.StatusBadRequest, "no candidates")
			return
		case len(req.Candidates) > o.MaxCandidates:
			httpError(w, http.StatusBadRequest, fmt.Sprintf("%d candidates, at most %d", len(req.Candidates), o.MaxCandidates))
			return
		}
		m := current()
		pairs := make([]Pair, len(req.Candidates))
		for i, c := range req.Candidates {
			pairs[i] = Pair{Prompt: req.Prompt, Code: c}
		}
		energies, err := m.ScorePairs(r.Context(), pairs)
		if err != nil {
			httpError(w, http.StatusInternalServerError, "scoring failed: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(RerankResponse{ModelVersion: m.Version, Energies: energies, BestIndex: Best(energies, nil)})
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
