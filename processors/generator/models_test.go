package generator

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDeployedModelsFileParses(t *testing.T) {
	ms, err := LoadModels(filepath.Join("..", "..", "deploy", "vllm", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := ms["deepseek-ai/deepseek-coder-1.3b-instruct"]
	if !ok || m.API != APIChat || m.SystemPrompt != "" || m.ServedName != m.Name {
		t.Fatalf("instruct model: %+v", m)
	}
	if b := ms["deepseek-ai/deepseek-coder-1.3b-base"]; b.API != APICompletion || len(b.Stops) != 5 {
		t.Fatalf("base model: %+v", b)
	}
}

func TestParseModelsRejectsMistakes(t *testing.T) {
	for _, doc := range []string{
		"models: []",
		"models:\n  - name: x\n    api: chatty\n",
		"models:\n  - name: x\n    api: chat\n    unknown_key: 1\n",
		"models:\n  - name: x\n    api: chat\n  - name: x\n    api: chat\n",
		"models:\n  - name: x\n    api: chat\n    max_n: -1\n",
	} {
		if _, err := ParseModels([]byte(doc)); err == nil {
			t.Errorf("accepted:\n%s", doc)
		} else if strings.TrimSpace(err.Error()) == "" {
			t.Errorf("empty error")
		}
	}
}
