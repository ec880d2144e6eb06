package generator

import (
	"strings"
	"testing"
)

// deepSeekCoderTemplate renders messages as DeepSeek-Coder-instruct's chat template does (HF
// tokenizer_config.json, rendered with trim_blocks): with no system message it inserts its default
// ending in "\n"; a system message's content is emitted verbatim, with nothing after it.
func deepSeekCoderTemplate(ms []Message) string {
	var b strings.Builder
	found := false
	for _, m := range ms {
		found = found || m.Role == "system"
	}
	if !found {
		b.WriteString("You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\n")
	}
	for _, m := range ms {
		switch m.Role {
		case "system":
			b.WriteString(m.Content)
		case "user":
			b.WriteString("### Instruction:\n" + m.Content + "\n")
		default:
			b.WriteString("### Response:\n" + m.Content + "\n<|EOT|>\n")
		}
	}
	return b.String() + "### Response:"
}

// TestDeepSeekCoderMessagesRenderAsTrained: the messages built for the default model (and for one
// naming DeepSeekCoderSystemPrompt explicitly) render to the prompt DeepSeek-Coder-instruct was
// trained on — the system text, a newline, then "### Instruction:" — never "refuse to answer### Instruction:".
func TestDeepSeekCoderMessagesRenderAsTrained(t *testing.T) {
	probs := testProblems()
	explicit, err := NewModels(Model{Name: "ds", API: APIChat, SystemPrompt: DeepSeekCoderSystemPrompt})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]Model{"default": DefaultModels()["deepseek-ai/deepseek-coder-1.3b-instruct"], "explicit": explicit["ds"]} {
		for _, id := range []string{"mbpp/601", "HumanEval/0"} {
			req := BuildRequest(m, probs[id], nil)
			if n := len(req.Messages); n == 0 || req.Messages[n-1].Role != "user" {
				t.Fatalf("%s %s: messages %+v", name, id, req.Messages)
			}
			got := deepSeekCoderTemplate(req.Messages)
			if !strings.Contains(got, "you will refuse to answer\n### Instruction:\n") || strings.Count(got, "You are an AI programming assistant") != 1 {
				t.Errorf("%s %s: rendered prompt starts %q", name, id, got[:min(len(got), 400)])
			}
		}
	}
}
