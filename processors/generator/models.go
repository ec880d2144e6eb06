// Package generator turns Prompt events into Candidates by sampling an LLM behind an
// OpenAI-compatible server (vLLM, llama.cpp server, OpenAI) with github.com/sashabaranov/go-openai.
// It is pure logic behind Process(ctx, prompt): it knows nothing of Kafka. Errors that can never
// succeed wrap ErrPermanent; the caller dead-letters those and retries everything else.
package generator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// API styles of a model.
const (
	APIChat       = "chat"       // /v1/chat/completions: instruct models, the server applies the chat template
	APICompletion = "completion" // /v1/completions: base models, a plain prompt and stop sequences
)

// DeepSeekCoderSystemPrompt is the system prompt DeepSeek-Coder-instruct's chat template inserts
// when the conversation has none, with its trailing newline. The template emits a system message's
// content verbatim and appends "### Instruction:\n" directly, so the newline must be part of the
// content: without it the model would see "…refuse to answer### Instruction:", which it was never
// trained on.
const DeepSeekCoderSystemPrompt = "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\n"

// DefaultStops are the stop sequences of plain completion prompts (Codex / HumanEval convention):
// the function under test is complete once the model starts anything at top level.
var defaultStops = []string{"\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"}

// DefaultStops returns a copy of the default completion stop sequences.
func DefaultStops() []string { return append([]string(nil), defaultStops...) }

// Model says how to prompt one model. It is one entry of the models YAML file.
type Model struct {
	// Name is the model as Prompt events name it; ServedName is what the server calls it (default Name).
	Name       string `yaml:"name"`
	ServedName string `yaml:"served_name"`
	API        string `yaml:"api"` // chat | completion
	// SystemPrompt, for chat models: sent as the system message; empty sends none (the server's chat
	// template then applies its own default, which for DeepSeek-Coder-instruct is
	// DeepSeekCoderSystemPrompt). Templates that concatenate it verbatim (DeepSeek-Coder's) need it to
	// end with the separator the model was trained on — for DeepSeek-Coder a newline.
	SystemPrompt string `yaml:"system_prompt"`
	// Stops are sent to the server and also cut client-side (servers may cap how many they honour;
	// OpenAI takes 4). Default: DefaultStops for completion models, none for chat models.
	Stops []string `yaml:"stops"`
	// MaxStopsSent caps how many stops go on the wire (0 = all); the rest are applied client-side.
	MaxStopsSent int `yaml:"max_stops_sent"`
	// MaxN is the most samples one request may ask for (0 = no cap): a prompt for more is split.
	MaxN int `yaml:"max_n"`
	// MBPPShots are the MBPP task ids of the few-shot examples (DeepSeek-Coder's eval uses 2, 3, 4);
	// empty takes that default, [-1] means zero-shot.
	MBPPShots []int `yaml:"mbpp_shots"`
	// Tests say how the model is sampled for generated tests (the "tests" purpose).
	Tests TestSettings `yaml:"tests"`
}

// TestSettings sample a model for generated tests. Zero values take CodeT's: 100 samples at
// temperature 0.8, top_p 0.95, up to 300 tokens. A tests Prompt's own non-zero values win.
type TestSettings struct {
	N           int32   `yaml:"n"`
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	MaxTokens   int32   `yaml:"max_tokens"`
}

func (t TestSettings) withDefaults() (TestSettings, error) {
	if t.N < 0 || t.Temperature < 0 || t.TopP < 0 || t.TopP > 1 || t.MaxTokens < 0 {
		return t, fmt.Errorf("tests: n, temperature, top_p or max_tokens out of range: %+v", t)
	}
	if t.N == 0 {
		t.N = 100
	}
	if t.Temperature == 0 {
		t.Temperature = 0.8
	}
	if t.TopP == 0 {
		t.TopP = 0.95
	}
	if t.MaxTokens == 0 {
		t.MaxTokens = 300
	}
	return t, nil
}

// ModelsFile is the models YAML file.
type ModelsFile struct {
	Models []Model `yaml:"models"`
}

// Models is a validated set of models by Name.
type Models map[string]Model

// ParseModels decodes and validates a models YAML document (unknown keys are errors).
func ParseModels(b []byte) (Models, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f ModelsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return NewModels(f.Models...)
}

// LoadModels reads a models YAML file.
func LoadModels(path string) (Models, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ms, err := ParseModels(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// NewModels fills defaults and validates.
func NewModels(list ...Model) (Models, error) {
	out := Models{}
	var errs []error
	for i, m := range list {
		m, err := m.withDefaults()
		if err != nil {
			errs = append(errs, fmt.Errorf("model %d: %w", i, err))
			continue
		}
		if _, dup := out[m.Name]; dup {
			errs = append(errs, fmt.Errorf("model %q listed twice", m.Name))
		}
		out[m.Name] = m
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no models"))
	}
	return out, errors.Join(errs...)
}

func (m Model) withDefaults() (Model, error) {
	if strings.TrimSpace(m.Name) == "" {
		return m, errors.New("empty name")
	}
	if m.ServedName == "" {
		m.ServedName = m.Name
	}
	switch m.API {
	case APIChat:
	case APICompletion:
		if m.Stops == nil {
			m.Stops = DefaultStops()
		}
	default:
		return m, fmt.Errorf("%s: api must be %q or %q, not %q", m.Name, APIChat, APICompletion, m.API)
	}
	if m.MaxN < 0 || m.MaxStopsSent < 0 {
		return m, fmt.Errorf("%s: negative max_n or max_stops_sent", m.Name)
	}
	if len(m.MBPPShots) == 0 {
		m.MBPPShots = []int{2, 3, 4}
	}
	var err error
	if m.Tests, err = m.Tests.withDefaults(); err != nil {
		return m, fmt.Errorf("%s: %w", m.Name, err)
	}
	return m, nil
}

// DefaultModels is the reference model: DeepSeek-Coder 1.3B instruct, chat API, served by vLLM. It
// sends no system message: the chat template then inserts its own default, newline included —
// exactly the prompt the model was trained and evaluated with (DeepSeek's eval_instruct.py sends
// only the user message) — and no copy of the text here can drift from the server's.
func DefaultModels() Models {
	ms, _ := NewModels(Model{Name: "deepseek-ai/deepseek-coder-1.3b-instruct", API: APIChat})
	return ms
}
