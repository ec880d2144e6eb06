package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
	"github.com/codeverify/codeverify/streams/tlstest"
)

// TestSecureKafkaCommands: topics and produce against a broker that requires TLS and SCRAM, with
// the CA and account given as flags and the password as a file named in the environment.
func TestSecureKafkaCommands(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	user := streams.SASL{Mechanism: streams.SASLScramSHA256, Username: "codeverify", Password: "Pw-Right-1"}
	b, _ := kafkatest.Start(t, streams.BrokerTLS(ca.ServerConfig(t)), streams.BrokerUser(user))
	caFile := ca.WriteCA(t, dir)
	pwFile := filepath.Join(dir, "kafka-password")
	if err := os.WriteFile(pwFile, []byte(user.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CODEVERIFY_KAFKA_SASL_PASSWORD_FILE", pwFile)
	secure := []string{"--brokers", b.Addr(), "--kafka-tls-ca", caFile, "--kafka-sasl-mechanism", "scram-sha-256",
		"--kafka-sasl-username", user.Username, "--connect-timeout", "10s"}

	out, err := runCLI(t, append(secure, "topics")...)
	if err != nil {
		t.Fatalf("topics: %v\n%s", err, out)
	}
	if strings.Contains(out, user.Password) {
		t.Errorf("the password was printed:\n%s", out)
	}
	problems, _ := testkit.HumanEvalSubset(t, 3)
	if out, err := runCLI(t, append(secure, "produce", "--problems", problems)...); err != nil || !strings.Contains(out, "published 3 problems") {
		t.Fatalf("produce: %v\n%s", err, out)
	}
	c := streams.Cluster{Brokers: []string{b.Addr()}, Security: streams.Security{TLS: mustTLS(t, streams.TLSFiles{CAFile: caFile}), SASL: user}}
	codecs, err := schemas.NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ps, _, err := streams.ReadAll(ctx, c, streams.TopicProblems, codecs.Problem); err != nil || len(ps) != 3 {
		t.Fatalf("problems topic: %d, %v", len(ps), err)
	}

	// A wrong password (the plain variable replaces the file) fails at once, saying why.
	t.Setenv("CODEVERIFY_KAFKA_SASL_PASSWORD_FILE", "")
	t.Setenv("CODEVERIFY_KAFKA_SASL_PASSWORD", "Pw-Wrong-2")
	start := time.Now()
	out, err = runCLI(t, append(secure, "topics")...)
	if err == nil || !strings.Contains(err.Error(), "SASL authentication failed") || time.Since(start) > 8*time.Second {
		t.Fatalf("wrong password: want a quick SASL error, got %v after %s\n%s", err, time.Since(start), out)
	}
	if strings.Contains(err.Error()+out, "Pw-") {
		t.Errorf("a password was printed: %v\n%s", err, out)
	}

	// Without the TLS flags the same broker is refused clearly.
	t.Setenv("CODEVERIFY_KAFKA_SASL_PASSWORD", user.Password)
	noTLS := []string{"--brokers", b.Addr(), "--kafka-sasl-mechanism", "scram-sha-256", "--kafka-sasl-username", user.Username, "--connect-timeout", "10s", "topics"}
	if _, err := runCLI(t, noTLS...); err == nil || !strings.Contains(err.Error(), "no TLS configured") {
		t.Fatalf("no TLS: want a clear error, got %v", err)
	}
}

func mustTLS(t *testing.T, f streams.TLSFiles) *tls.Config {
	t.Helper()
	cfg, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSecureKafkaConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	caFile := ca.WriteCA(t, dir)
	certFile, _ := ca.WriteClient(t, dir, "client")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("Pw-File-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}

	// Secrets: environment over YAML, a file's trailing newline dropped, both sources an error.
	c, err := config.Load("", env("CODEVERIFY_KAFKA_SASL_PASSWORD_FILE", pw, "CODEVERIFY_CLICKHOUSE_PASSWORD", "Pw-CH-4"))
	if err != nil || c.Kafka.SASL.Password != "Pw-File-3" || c.ClickHouse.Password != "Pw-CH-4" {
		t.Fatalf("secrets from env: %q %q %v", c.Kafka.SASL.Password, c.ClickHouse.Password, err)
	}
	c, err = config.Load("", env("CODEVERIFY_CLICKHOUSE_PASSWORD_FILE", pw))
	if err != nil || c.ClickHouse.Password != "Pw-File-3" {
		t.Fatalf("clickhouse password file: %q %v", c.ClickHouse.Password, err)
	}
	for _, tc := range []struct {
		env  func(string) string
		want []string
	}{
		{env("CODEVERIFY_KAFKA_SASL_PASSWORD", "x", "CODEVERIFY_KAFKA_SASL_PASSWORD_FILE", pw), []string{"CODEVERIFY_KAFKA_SASL_PASSWORD and CODEVERIFY_KAFKA_SASL_PASSWORD_FILE are both set"}},
		{env("CODEVERIFY_CLICKHOUSE_PASSWORD", "x", "CODEVERIFY_CLICKHOUSE_PASSWORD_FILE", pw), []string{"CODEVERIFY_CLICKHOUSE_PASSWORD and CODEVERIFY_CLICKHOUSE_PASSWORD_FILE are both set"}},
		{env("CODEVERIFY_KAFKA_SASL_PASSWORD_FILE", filepath.Join(dir, "nope")), []string{"kafka.sasl.password file", "nope"}},
	} {
		if _, err := config.Load("", tc.env); err == nil || !containsAll(err.Error(), tc.want...) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	yamlBoth := filepath.Join(dir, "both.yaml")
	if err := os.WriteFile(yamlBoth, []byte("kafka:\n  sasl:\n    password: a\n    password_file: "+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(yamlBoth, env()); err == nil || !strings.Contains(err.Error(), "kafka.sasl.password and kafka.sasl.password_file are both set") {
		t.Errorf("both in YAML: %v", err)
	}

	// Validate: everything wrong is named before anything starts.
	base := config.Default()
	base.Brokers = []string{"kafka:9093"}
	for _, tc := range []struct {
		edit func(*config.Config)
		want string
	}{
		{func(c *config.Config) {
			c.Kafka.SASL.Mechanism, c.Kafka.SASL.Username, c.Kafka.SASL.Password = "GSSAPI", "u", "p"
		}, `unknown mechanism "GSSAPI"`},
		{func(c *config.Config) { c.Kafka.SASL.Mechanism, c.Kafka.SASL.Username = "PLAIN", "u" }, "no password"},
		{func(c *config.Config) { c.Kafka.TLS.CAFile = filepath.Join(dir, "missing-ca.pem") }, "missing-ca.pem"},
		{func(c *config.Config) { c.Kafka.TLS.CertFile = certFile }, "key_file is not"},
		{func(c *config.Config) { c.Brokers = nil; c.Kafka.TLS.CAFile = caFile }, "embedded broker is plaintext"},
	} {
		c := base
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	c = base
	c.Kafka.TLS.CAFile = caFile
	c.Kafka.SASL.Mechanism, c.Kafka.SASL.Username, c.Kafka.SASL.Password = "scram-sha-512", "u", "Pw-5"
	if err := c.Validate(); err != nil {
		t.Fatalf("valid secure config: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
