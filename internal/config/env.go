package config

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// Env is what every command runs in: the validated configuration, the logger and the Kafka security
// loaded from it. It knows how to reach the cluster and ClickHouse and how to build an executor, so
// the stages take an Env instead of reading the configuration themselves.
type Env struct {
	Config Config
	Log    *slog.Logger
	// Security secures every connection to Config.Brokers (TLS files loaded once, at start).
	Security streams.Security
}

// NewEnv checks c and loads what it names (TLS files); log is the logger every stage writes to.
func NewEnv(c Config, log *slog.Logger) (*Env, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sec, err := c.KafkaSecurity()
	if err != nil {
		return nil, err
	}
	return &Env{Config: c, Log: log, Security: sec}, nil
}

// Brokers are the configured bootstrap brokers, or the embedded broker's address.
func (e *Env) Brokers() []string {
	if len(e.Config.Brokers) > 0 {
		return e.Config.Brokers
	}
	return []string{"127.0.0.1:" + strconv.Itoa(e.Config.EmbeddedPort)}
}

// Cluster is the Kafka cluster every command talks to: the configured brokers with their security,
// or the embedded broker (plaintext).
func (e *Env) Cluster() streams.Cluster {
	return streams.Cluster{Brokers: e.Brokers(), Security: e.Security}
}

// DataPath joins elem onto the data directory, which must exist.
func (e *Env) DataPath(elem ...string) (string, error) {
	dir, err := ExistingDir(e.Config.DataDir, "data directory", "--data-dir or CODEVERIFY_DATA_DIR")
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{dir}, elem...)...), nil
}

// One-shot commands (topics, produce, produce-prompts, synthesize, train) give up on the broker
// after --connect-timeout with one line naming every bootstrap address and its cause; the
// long-running processors keep retrying instead, as a service should.

// BrokersReachable returns nil once one bootstrap address answers, or the error after the connect
// timeout.
func (e *Env) BrokersReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.Config.ConnectTimeout)
	defer cancel()
	if err := streams.Reachable(ctx, e.Cluster()); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up after %s, --connect-timeout)", err, e.Config.ConnectTimeout)
		}
		return err
	}
	return nil
}

// EnsureTopics checks the brokers and creates the topic catalog, both within the connect timeout.
func (e *Env) EnsureTopics(ctx context.Context, cat streams.Catalog) error {
	if err := e.BrokersReachable(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.Config.ConnectTimeout)
	defer cancel()
	if err := streams.EnsureTopics(ctx, e.Cluster(), cat); err != nil {
		return fmt.Errorf("%w (brokers %v, --connect-timeout %s)", err, e.Brokers(), e.Config.ConnectTimeout)
	}
	return nil
}

// WithBrokers runs fn against the configured brokers, or against the embedded broker on VAR_DIR/kafka:
// one already listening on the embedded port (codeverify broker) is used, else one is started here.
func (e *Env) WithBrokers(ctx context.Context, fn func(kafka streams.Cluster) error) error {
	if len(e.Config.Brokers) == 0 {
		addr := e.Brokers()[0]
		if c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
			c.Close()
		} else {
			b, err := streams.StartBroker(filepath.Join(e.Config.VarDir, "kafka"), e.Config.EmbeddedPort, e.Log)
			if err != nil {
				return fmt.Errorf("embedded broker: %w", err)
			}
			defer b.Close()
		}
	} else if err := e.BrokersReachable(ctx); err != nil {
		return err
	}
	return fn(e.Cluster())
}

// ClickHouseConfig is the sink's connection configuration.
func (e *Env) ClickHouseConfig() clickhouse.Config {
	c := e.Config.ClickHouse
	return clickhouse.Config{Addr: c.Addr, Database: c.Database, Username: c.Username, Password: c.Password, DialTimeout: e.Config.ConnectTimeout}
}

// OpenClickHouse opens the sink, creating the database and migrating its schema.
func (e *Env) OpenClickHouse(ctx context.Context) (*clickhouse.Sink, error) {
	return clickhouse.Open(ctx, e.ClickHouseConfig())
}

// OpenClickHouseReadOnly is for the commands that only read (report, eval --pool, lookups): a
// missing database or an unmigrated schema is an error, never created.
func (e *Env) OpenClickHouseReadOnly(ctx context.Context) (*clickhouse.Sink, error) {
	return clickhouse.OpenReadOnly(ctx, e.ClickHouseConfig())
}

// OpenClickHouseWhenUp opens the sink, waiting for ClickHouse for as long as ctx lasts: a sink
// started before its database logs a warning per attempt and keeps trying rather than exiting. An
// error the server itself returned (bad credentials, a migration it refused) does not go away by
// waiting and is returned. It returns (nil, nil) when ctx ends first.
func (e *Env) OpenClickHouseWhenUp(ctx context.Context, minWait, maxWait time.Duration) (*clickhouse.Sink, error) {
	cfg := e.ClickHouseConfig()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bo := backoff.New(minWait, maxWait)
	for attempt := 1; ; attempt++ {
		sink, err := clickhouse.Open(ctx, cfg)
		if err == nil {
			if attempt > 1 {
				e.Log.Info("clickhouse reachable", "addr", cfg.Addr, "attempts", attempt)
			}
			return sink, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if clickhouse.IsServerError(err) {
			return nil, err
		}
		e.Log.Warn("clickhouse not reachable; not ready, will retry", "addr", cfg.Addr, "attempt", attempt, "err", err)
		if bo.Wait(ctx) != nil {
			return nil, nil
		}
	}
}

// ExecutorConfig is the sandbox configuration with a backend (executor.BackendZygote or
// executor.BackendSimple; "" = the default) and a verdict cache size (0 = the default).
func (e *Env) ExecutorConfig(backend string, cacheSize int) executor.Config {
	x := e.Config.Executor
	return executor.Config{
		Python: x.Python, Timeout: x.Timeout, Workers: x.Workers,
		MemoryBytes: x.MemoryBytes, OutputBytes: x.OutputBytes, Backend: backend, CacheSize: cacheSize,
	}
}

// NewExecutor starts a sandboxed executor with the configured limits.
func (e *Env) NewExecutor(backend string, cacheSize int) (*executor.Executor, error) {
	return executor.New(e.ExecutorConfig(backend, cacheSize))
}
