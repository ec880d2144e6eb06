package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The file, then the environment, then defaults; a misspelt key and a bad value are errors.
func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("executor:\n  timeout: 7s\n  workers: 3\nclickhouse:\n  addr: ch:9000\n"), 0o644)
	env := map[string]string{"CODEVERIFY_CLICKHOUSE_ADDR": "env:9000"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Executor.Timeout.String() != "7s" || c.Executor.Workers != 3 || c.ClickHouse.Addr != "env:9000" || c.ClickHouse.Database != "codeverify" {
		t.Fatalf("layers: %+v", c)
	}
	os.WriteFile(path, []byte("executor:\n  timeuot: 7s\n"), 0o644)
	if _, err := Load(path, func(string) string { return "" }); err == nil {
		t.Fatal("a misspelt key must be an error")
	}
	c.Executor.Timeout = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "executor.timeout") {
		t.Fatalf("validate: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "deploy", "codeverify.example.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Brokers) != 3 || c.Sink.MaxBatch != 5000 || c.Executor.Timeout.Seconds() != 3 {
		t.Fatalf("example config: %+v", c)
	}
}

func TestGeneratorServerAndKeyLayers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600)
	os.WriteFile(path, []byte("generator:\n  base_url: http://file:8000/v1\n  api_key_file: "+keyFile+"\n"), 0o644)
	for _, c := range []struct {
		env           map[string]string
		url, key, err string
	}{
		{map[string]string{}, "http://file:8000/v1", "sk-from-file", ""},
		{map[string]string{"OPENAI_BASE_URL": "http://env:8000/v1", "OPENAI_API_KEY": "sk-env"}, "http://env:8000/v1", "sk-env", ""},
		{map[string]string{"OPENAI_API_KEY": "a", "OPENAI_API_KEY_FILE": keyFile}, "", "", "OPENAI_API_KEY and OPENAI_API_KEY_FILE are both set"},
	} {
		got, err := Load(path, func(k string) string { return c.env[k] })
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("env %v: error %v, want %q", c.env, err, c.err)
			}
			continue
		}
		if err != nil || got.Generator.BaseURL != c.url || got.Generator.APIKey != c.key {
			t.Errorf("env %v: %q %q %v, want %q %q", c.env, got.Generator.BaseURL, got.Generator.APIKey, err, c.url, c.key)
		}
	}
	if d := Default(); d.Generator.BaseURL != "http://127.0.0.1:8000/v1" || d.Generator.APIKey != "" {
		t.Errorf("default generator %+v", d.Generator)
	}
}
