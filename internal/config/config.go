// Package config is codeverify's configuration and the environment every command runs in: Config
// (defaults, then the YAML file, then CODEVERIFY_* variables, then flags, validated before start),
// its flags, the secrets and default paths it resolves, and Env, which reaches the cluster and
// ClickHouse and builds executors from it.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration: defaults, then the YAML file, then CODEVERIFY_* environment
// variables, then flags. Validate runs before any command starts.
type Config struct {
	// Brokers of a real Kafka cluster; empty means the embedded broker (kfake) on EmbeddedPort.
	Brokers      []string `yaml:"brokers"`
	EmbeddedPort int      `yaml:"embedded_port"`
	DataDir      string   `yaml:"data_dir"` // benchmark data (default: CHECKOUT/../shared/data)
	VarDir       string   `yaml:"var_dir"`  // runtime state: broker segments, ClickHouse data (default: CHECKOUT/var)
	MetricsAddr  string   `yaml:"metrics_addr"`
	// MaxMessageBytes: larger input records are dead-lettered as oversized.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// ConnectTimeout bounds how long a one-shot command (topics, produce, report, …) waits for the
	// broker or ClickHouse before it gives up; long-running processors keep retrying instead.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`

	// Log: level debug|info|warn|error and format json|text of the logs on stderr.
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`

	// Kafka: TLS and SASL for the connections to Brokers.
	Kafka KafkaConfig `yaml:"kafka"`

	ClickHouse struct {
		Addr     string `yaml:"addr"`
		Database string `yaml:"database"`
		Username string `yaml:"username"`
		// Password, or PasswordFile naming a file that holds it; CODEVERIFY_CLICKHOUSE_PASSWORD or
		// CODEVERIFY_CLICKHOUSE_PASSWORD_FILE override both.
		Password     string `yaml:"password"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"clickhouse"`

	// Generator: the OpenAI-compatible model server `generate` samples from (OPENAI_BASE_URL
	// overrides BaseURL). The API key is APIKey, or APIKeyFile naming a file that holds it;
	// OPENAI_API_KEY or OPENAI_API_KEY_FILE override both. Never a flag: it would show in ps.
	Generator struct {
		BaseURL    string `yaml:"base_url"`
		APIKey     string `yaml:"api_key"`
		APIKeyFile string `yaml:"api_key_file"`
	} `yaml:"generator"`

	Executor struct {
		Python      string        `yaml:"python"`
		Timeout     time.Duration `yaml:"timeout"`
		Workers     int           `yaml:"workers"`
		MemoryBytes int64         `yaml:"memory_bytes"`
		OutputBytes int64         `yaml:"output_bytes"`
	} `yaml:"executor"`

	Sink struct {
		MaxBatch int           `yaml:"max_batch"`
		MaxWait  time.Duration `yaml:"max_wait"`
	} `yaml:"sink"`

	// Group: the consumer-group timeouts of execute and sink (0 = the streams defaults: session
	// 6s, heartbeat 1s, rebalance 10s). The session timeout is how long a killed member holds its
	// partitions.
	Group struct {
		SessionTimeout    time.Duration `yaml:"session_timeout"`
		HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
		RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`
	} `yaml:"group"`
}

// Default is the configuration before any file, environment or flag.
func Default() Config {
	var c Config
	c.EmbeddedPort = 9092
	// Relative to the checkout, not the working directory (paths.go).
	c.DataDir = DefaultPath(filepath.Join("..", "shared", "data"))
	c.VarDir = DefaultPath("var")
	c.MaxMessageBytes = 1 << 20
	c.ConnectTimeout = 10 * time.Second
	c.Log.Level, c.Log.Format = "info", "json"
	c.ClickHouse.Addr = "127.0.0.1:9000"
	c.ClickHouse.Database = "codeverify"
	c.ClickHouse.Username = "default"
	c.Generator.BaseURL = "http://127.0.0.1:8000/v1"
	c.Executor.Python = defaultPython()
	c.Executor.Timeout = 3 * time.Second
	c.Executor.MemoryBytes = 1 << 30
	c.Executor.OutputBytes = 1 << 20
	c.Sink.MaxBatch = 5000
	c.Sink.MaxWait = time.Second
	return c
}

// Load applies the YAML file (path or $CODEVERIFY_CONFIG) and the environment over the defaults.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	if path == "" {
		path = getenv("CODEVERIFY_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, configError(path, err)
		}
	}
	if v := getenv("CODEVERIFY_BROKERS"); v != "" {
		c.Brokers = strings.Split(v, ",")
	}
	if v := getenv("CODEVERIFY_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if v := getenv("CODEVERIFY_VAR_DIR"); v != "" {
		c.VarDir = v
	}
	if v := getenv("OPENAI_BASE_URL"); v != "" {
		c.Generator.BaseURL = v
	}
	if v := getenv("CODEVERIFY_CLICKHOUSE_ADDR"); v != "" {
		c.ClickHouse.Addr = v
	}
	if v := getenv("CODEVERIFY_PYTHON"); v != "" {
		c.Executor.Python = v
	}
	if v := getenv("CODEVERIFY_LOG_LEVEL"); v != "" {
		c.Log.Level = v
	}
	if v := getenv("CODEVERIFY_LOG_FORMAT"); v != "" {
		c.Log.Format = v
	}
	if v := getenv("CODEVERIFY_CONNECT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("CODEVERIFY_CONNECT_TIMEOUT: %w", err)
		}
		c.ConnectTimeout = d
	}
	c.applyKafkaEnv(getenv)
	if err := c.loadSecrets(getenv); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// yaml.v3 reports an unknown key as "line N: field KEY not found in type struct { … }".
var unknownKeyRe = regexp.MustCompile(`^line (\d+): field (\S+) not found in type `)

// configError says what is wrong with the file in one line: an unknown key by name and line, not
// by the Go type it failed to fit.
func configError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if m := unknownKeyRe.FindStringSubmatch(e); m != nil {
			msgs[i] = fmt.Sprintf("config %s line %s: unknown key %q", path, m[1], m[2])
		} else {
			msgs[i] = fmt.Sprintf("config %s %s", path, e)
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Validate says what is wrong before anything starts.
func (c Config) Validate() error {
	var errs []string
	if c.ClickHouse.Addr == "" || c.ClickHouse.Database == "" {
		errs = append(errs, "clickhouse.addr and clickhouse.database are required")
	}
	if c.Executor.Timeout <= 0 {
		errs = append(errs, "executor.timeout must be > 0")
	}
	if c.Executor.Workers < 0 {
		errs = append(errs, "executor.workers must be ≥ 0 (0 = number of CPUs)")
	}
	if c.ConnectTimeout <= 0 || c.ConnectTimeout > time.Hour {
		errs = append(errs, "connect_timeout must be > 0 and ≤ 1h")
	}
	if c.MaxMessageBytes <= 0 {
		errs = append(errs, "max_message_bytes must be > 0")
	}
	if c.Sink.MaxBatch <= 0 || c.Sink.MaxWait <= 0 {
		errs = append(errs, "sink.max_batch and sink.max_wait must be > 0")
	}
	if g := c.Group; g.SessionTimeout < 0 || g.HeartbeatInterval < 0 || g.RebalanceTimeout < 0 {
		errs = append(errs, "group timeouts must be ≥ 0 (0 = default)")
	}
	if len(c.Brokers) == 0 && (c.EmbeddedPort < 0 || c.EmbeddedPort > 65535) {
		errs = append(errs, "embedded_port out of range")
	}
	if _, err := c.KafkaSecurity(); err != nil {
		errs = append(errs, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// defaultPython prefers Debian's interpreter: the sandbox runs programs as nobody when started as
// root, and nobody cannot read an interpreter under /root (pyenv).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}
