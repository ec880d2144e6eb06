// Package openaifake is an in-process OpenAI-compatible server for tests and benchmarks. It speaks
// the real wire format of /v1/chat/completions and /v1/completions (n, usage, finish_reason, the
// error envelope) and injects the failures real servers show: 429, 500, truncated JSON, slowness.
package openaifake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request is what a client asked for, as decoded from the wire.
type Request struct {
	Endpoint    string // "chat" or "completion"
	Model       string
	Prompt      string // the completion prompt, or the chat messages' contents joined by "\n"
	N           int
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Seed        *int
	Stop        []string
}

// Fault is what the server does instead of (or before) answering.
type Fault struct {
	Status    int           // answer with this HTTP status and an OpenAI error body (e.g. 429, 500, 400)
	Truncate  bool          // answer 200 with the JSON cut in half
	Delay     time.Duration // sleep first (a slow server; the client may time out)
	Malformed bool          // answer 200 with n-1 choices indexed from 1 (a broken server)
}

// Options configure a Server; all may be nil/zero.
type Options struct {
	// Respond makes choice i of a request: its text and finish_reason ("stop" or "length").
	Respond func(r Request, i int) (text, finish string)
	// Fault, called for every request with its 1-based sequence number, may inject a failure.
	Fault func(r Request, call int64) Fault
	// MaxN: a request for more samples is refused with 400, as OpenAI does (0 = no cap).
	MaxN int
	// AnswerAtMost: answer at most this many choices whatever n was (a server that ignores n).
	AnswerAtMost int
	Latency      time.Duration // added to every request
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	opt                    Options
	calls, completions     atomic.Int64
	inFlight, peakInFlight atomic.Int64 // sequences (n summed over requests being answered)
	mu                     sync.Mutex
	seen                   []Request
	record                 bool
}

// New starts a fake on 127.0.0.1; URL()+"/v1" is its base URL. Close it when done.
func New(opt Options) *Server {
	s := &Server{opt: opt, record: true}
	if s.opt.Respond == nil {
		s.opt.Respond = DefaultRespond
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "chat") })
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "completion") })
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"fake","object":"model","owned_by":"codeverify"}]}`)
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is the OpenAI base URL of the fake.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Calls is the number of requests received; Completions the number of choices answered.
func (s *Server) Calls() int64       { return s.calls.Load() }
func (s *Server) Completions() int64 { return s.completions.Load() }

// PeakInFlight is the most sequences (n summed) that were being answered at once.
func (s *Server) PeakInFlight() int64 { return s.peakInFlight.Load() }

// ResetPeak starts a new PeakInFlight measurement.
func (s *Server) ResetPeak() { s.peakInFlight.Store(s.inFlight.Load()) }

// StopRecording stops keeping requests for Requests (benchmarks).
func (s *Server) StopRecording() { s.mu.Lock(); s.record = false; s.seen = nil; s.mu.Unlock() }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.seen...)
}

type wireRequest struct {
	Model       string                           `json:"model"`
	Prompt      any                              `json:"prompt"`
	Messages    []struct{ Role, Content string } `json:"messages"`
	N           *int                             `json:"n"`
	MaxTokens   int                              `json:"max_tokens"`
	Temperature *float64                         `json:"temperature"`
	TopP        *float64                         `json:"top_p"`
	Seed        *int                             `json:"seed"`
	Stop        any                              `json:"stop"`
	Stream      bool                             `json:"stream"`
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": status}})
	w.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request, endpoint string) {
	call := s.calls.Add(1)
	var wr wireRequest
	if err := json.NewDecoder(hr.Body).Decode(&wr); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid JSON body: "+err.Error())
		return
	}
	r := Request{Endpoint: endpoint, Model: wr.Model, N: 1, MaxTokens: wr.MaxTokens, Temperature: wr.Temperature, TopP: wr.TopP, Seed: wr.Seed}
	if wr.N != nil {
		r.N = *wr.N
	}
	switch st := wr.Stop.(type) {
	case string:
		r.Stop = []string{st}
	case []any:
		for _, x := range st {
			if str, ok := x.(string); ok {
				r.Stop = append(r.Stop, str)
			}
		}
	}
	if endpoint == "chat" {
		parts := make([]string, len(wr.Messages))
		for i, m := range wr.Messages {
			parts[i] = m.Content
		}
		r.Prompt = strings.Join(parts, "\n")
		if len(wr.Messages) == 0 {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "messages must not be empty")
			return
		}
	} else {
		p, ok := wr.Prompt.(string)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "prompt must be a string")
			return
		}
		r.Prompt = p
	}
	if wr.Stream {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "the fake does not stream")
		return
	}
	if r.N < 1 || (s.opt.MaxN > 0 && r.N > s.opt.MaxN) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("n must be between 1 and %d, got %d", max(s.opt.MaxN, 1), r.N))
		return
	}
	s.mu.Lock()
	if s.record {
		s.seen = append(s.seen, r)
	}
	s.mu.Unlock()

	cur := s.inFlight.Add(int64(r.N))
	defer s.inFlight.Add(-int64(r.N))
	for {
		peak := s.peakInFlight.Load()
		if cur <= peak || s.peakInFlight.CompareAndSwap(peak, cur) {
			break
		}
	}
	var f Fault
	if s.opt.Fault != nil {
		f = s.opt.Fault(r, call)
	}
	if d := s.opt.Latency + f.Delay; d > 0 {
		select {
		case <-time.After(d):
		case <-hr.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		typ := "server_error"
		if f.Status == http.StatusTooManyRequests {
			typ = "rate_limit_exceeded"
		} else if f.Status < 500 {
			typ = "invalid_request_error"
		}
		writeError(w, f.Status, typ, fmt.Sprintf("injected %d", f.Status))
		return
	}
	body := s.respond(r, f.Malformed)
	w.Header().Set("Content-Type", "application/json")
	if f.Truncate {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)/2))
		w.Write(body[:len(body)/2])
		return
	}
	w.Write(body)
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      map[string]any  `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type textChoice struct {
	Index        int             `json:"index"`
	Text         string          `json:"text"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

// tokens approximates a tokenizer: about four bytes a token.
func tokens(s string) int { return (len(s) + 3) / 4 }

func (s *Server) respond(r Request, malformed bool) []byte {
	n := r.N
	if s.opt.AnswerAtMost > 0 {
		n = min(n, s.opt.AnswerAtMost)
	}
	u := usage{PromptTokens: tokens(r.Prompt)}
	null := json.RawMessage("null")
	var chat []chatChoice
	var text []textChoice
	first := 0
	if malformed {
		first, n = 1, n+1 // n choices numbered from 1: index n is out of range
	}
	for i := first; i < n; i++ {
		t, fin := s.opt.Respond(r, i)
		ct := tokens(t)
		if fin == "length" && r.MaxTokens > 0 {
			ct = r.MaxTokens
		}
		u.CompletionTokens += ct
		if r.Endpoint == "chat" {
			chat = append(chat, chatChoice{Index: i, Message: map[string]any{"role": "assistant", "content": t, "tool_calls": []any{}}, Logprobs: null, FinishReason: fin})
		} else {
			text = append(text, textChoice{Index: i, Text: t, Logprobs: null, FinishReason: fin})
		}
	}
	s.completions.Add(int64(n - first))
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	resp := map[string]any{"id": fmt.Sprintf("cmpl-fake-%d", s.calls.Load()), "created": time.Now().Unix(), "model": r.Model, "usage": u}
	if r.Endpoint == "chat" {
		resp["object"] = "chat.completion"
		resp["choices"] = chat
	} else {
		resp["object"] = "text_completion"
		resp["choices"] = text
	}
	b, _ := json.Marshal(resp)
	return b
}

// DefaultRespond answers like an instruct model: a sentence of prose, then a fenced function
// (chat); or a function body (completion).
func DefaultRespond(r Request, i int) (string, string) {
	if r.Endpoint == "chat" {
		return fmt.Sprintf("Here is a solution:\n```python\ndef solution(xs):\n    total = 0\n    for x in xs:\n        total += x * %d\n    return total\n```\nIt runs in linear time.", i), "stop"
	}
	return fmt.Sprintf("    total = 0\n    for x in xs:\n        total += x * %d\n    return total\n", i), "stop"
}
