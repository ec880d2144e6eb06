package config

import (
	"github.com/codeverify/codeverify/internal/flagrange"
	"github.com/spf13/pflag"
)

// BindFlags registers the global flags on fs into a scratch Config; ApplyFlags copies the ones the
// user actually set, so flags override the file and the environment but defaults do not.
func BindFlags(fs *pflag.FlagSet, f *Config) {
	d := Default()
	fs.StringSliceVar(&f.Brokers, "brokers", nil, "Kafka bootstrap brokers (empty: the embedded broker)")
	fs.IntVar(&f.EmbeddedPort, "embedded-port", d.EmbeddedPort, "port of the embedded broker")
	fs.StringVar(&f.DataDir, "data-dir", d.DataDir, "benchmark data directory (mbpp/, samples/; env CODEVERIFY_DATA_DIR; default CHECKOUT/../shared/data, CHECKOUT being the codeverify checkout holding the working directory or the binary)")
	fs.StringVar(&f.VarDir, "var-dir", d.VarDir, "runtime state directory (broker data, models, ClickHouse data; env CODEVERIFY_VAR_DIR; default CHECKOUT/var)")
	fs.DurationVar(&f.ConnectTimeout, "connect-timeout", d.ConnectTimeout, "how long a one-shot command waits for the broker or ClickHouse before giving up (env CODEVERIFY_CONNECT_TIMEOUT)")
	fs.StringVar(&f.Log.Level, "log-level", d.Log.Level, "log level: debug, info, warn, error (env CODEVERIFY_LOG_LEVEL)")
	fs.StringVar(&f.Log.Format, "log-format", d.Log.Format, "log format on stderr: json or text (env CODEVERIFY_LOG_FORMAT)")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", "", "serve /metrics, /healthz, /readyz here (e.g. 127.0.0.1:9464)")
	fs.StringVar(&f.ClickHouse.Addr, "clickhouse-addr", d.ClickHouse.Addr, "ClickHouse native protocol address")
	fs.StringVar(&f.ClickHouse.Database, "clickhouse-db", d.ClickHouse.Database, "ClickHouse database")
	fs.StringVar(&f.Executor.Python, "python", d.Executor.Python, "python interpreter for the sandbox")
	fs.DurationVar(&f.Executor.Timeout, "timeout", d.Executor.Timeout, "default wall timeout per candidate")
	fs.IntVar(&f.Executor.Workers, "workers", 0, "concurrent executions (0 = number of CPUs)")
	fs.DurationVar(&f.Group.SessionTimeout, "group-session-timeout", 0, "consumer-group session timeout of execute and sink: how long a killed member holds its partitions (0 = 6s)")
	fs.DurationVar(&f.Group.HeartbeatInterval, "group-heartbeat-interval", 0, "consumer-group heartbeat interval, below the session timeout (0 = 1s)")
	fs.DurationVar(&f.Group.RebalanceTimeout, "group-rebalance-timeout", 0, "how long a rebalance waits for every member to rejoin (0 = 10s)")
	flagrange.Limits(fs, map[string][2]string{
		"embedded-port": {"0", "65535"}, "connect-timeout": {"1ms", "1h"}, "timeout": {"1ms", "1h"}, "workers": {"0", "4096"},
		"group-session-timeout": {"0s", "1h"}, "group-heartbeat-interval": {"0s", "1h"}, "group-rebalance-timeout": {"0s", "1h"},
	})
	bindKafkaFlags(fs, f)
}

// ApplyFlags copies into dst the flags of fs the user set, from the scratch Config f that
// BindFlags registered them into.
func ApplyFlags(fs *pflag.FlagSet, dst *Config, f *Config) {
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("brokers", func() { dst.Brokers = f.Brokers })
	set("embedded-port", func() { dst.EmbeddedPort = f.EmbeddedPort })
	set("data-dir", func() { dst.DataDir = f.DataDir })
	set("var-dir", func() { dst.VarDir = f.VarDir })
	set("connect-timeout", func() { dst.ConnectTimeout = f.ConnectTimeout })
	set("log-level", func() { dst.Log.Level = f.Log.Level })
	set("log-format", func() { dst.Log.Format = f.Log.Format })
	set("metrics-addr", func() { dst.MetricsAddr = f.MetricsAddr })
	set("clickhouse-addr", func() { dst.ClickHouse.Addr = f.ClickHouse.Addr })
	set("clickhouse-db", func() { dst.ClickHouse.Database = f.ClickHouse.Database })
	set("python", func() { dst.Executor.Python = f.Executor.Python })
	set("timeout", func() { dst.Executor.Timeout = f.Executor.Timeout })
	set("workers", func() { dst.Executor.Workers = f.Executor.Workers })
	set("group-session-timeout", func() { dst.Group.SessionTimeout = f.Group.SessionTimeout })
	set("group-heartbeat-interval", func() { dst.Group.HeartbeatInterval = f.Group.HeartbeatInterval })
	set("group-rebalance-timeout", func() { dst.Group.RebalanceTimeout = f.Group.RebalanceTimeout })
	applyKafkaFlags(set, dst, f)
}

// bindKafkaFlags registers the non-secret Kafka security flags (passwords: environment or file only).
func bindKafkaFlags(fs *pflag.FlagSet, f *Config) {
	fs.BoolVar(&f.Kafka.TLS.Enabled, "kafka-tls", false, "connect to the brokers over TLS (implied by the other --kafka-tls-* flags)")
	fs.StringVar(&f.Kafka.TLS.CAFile, "kafka-tls-ca", "", "PEM CA certificates that verify the brokers (default: the system's roots)")
	fs.StringVar(&f.Kafka.TLS.CertFile, "kafka-tls-cert", "", "PEM client certificate, for brokers that require mutual TLS (with --kafka-tls-key)")
	fs.StringVar(&f.Kafka.TLS.KeyFile, "kafka-tls-key", "", "PEM key of --kafka-tls-cert")
	fs.StringVar(&f.Kafka.TLS.ServerName, "kafka-tls-server-name", "", "name the brokers' certificates must carry (default: each broker's host)")
	fs.StringVar(&f.Kafka.SASL.Mechanism, "kafka-sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password: env CODEVERIFY_KAFKA_SASL_PASSWORD or _FILE)")
	fs.StringVar(&f.Kafka.SASL.Username, "kafka-sasl-username", "", "SASL username")
}

func applyKafkaFlags(set func(string, func()), dst *Config, f *Config) {
	set("kafka-tls", func() { dst.Kafka.TLS.Enabled = f.Kafka.TLS.Enabled })
	set("kafka-tls-ca", func() { dst.Kafka.TLS.CAFile = f.Kafka.TLS.CAFile })
	set("kafka-tls-cert", func() { dst.Kafka.TLS.CertFile = f.Kafka.TLS.CertFile })
	set("kafka-tls-key", func() { dst.Kafka.TLS.KeyFile = f.Kafka.TLS.KeyFile })
	set("kafka-tls-server-name", func() { dst.Kafka.TLS.ServerName = f.Kafka.TLS.ServerName })
	set("kafka-sasl-mechanism", func() { dst.Kafka.SASL.Mechanism = f.Kafka.SASL.Mechanism })
	set("kafka-sasl-username", func() { dst.Kafka.SASL.Username = f.Kafka.SASL.Username })
}
