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
