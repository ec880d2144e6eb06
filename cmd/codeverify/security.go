package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/codeverify/codeverify/streams"
	"github.com/spf13/cobra"
)

// KafkaConfig secures the connections to a real cluster (Config.Brokers); the embedded broker is
// plaintext. Secrets come from the environment or a file, never from a flag.
type KafkaConfig struct {
	TLS  streams.TLSFiles `yaml:"tls"`
	SASL struct {
		Mechanism string `yaml:"mechanism"` // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
		Username  string `yaml:"username"`
		// Password, or PasswordFile naming a file that holds it (one trailing newline is dropped);
		// CODEVERIFY_KAFKA_SASL_PASSWORD or CODEVERIFY_KAFKA_SASL_PASSWORD_FILE override both.
		Password     string `yaml:"password"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"sasl"`
}

// loadSecret applies a secret's two environment variables over what the YAML file said, and
// reads the file when the secret is given as one. Setting both variables (or both YAML keys) is an
// error naming them, since which one wins would be a guess.
func loadSecret(getenv func(string) string, envVar, yamlKey string, value, file *string) error {
	envValue, envFile := getenv(envVar), getenv(envVar+"_FILE")
	switch {
	case envValue != "" && envFile != "":
		return fmt.Errorf("%s and %s are both set: set one", envVar, envVar+"_FILE")
	case envValue != "":
		*value, *file = envValue, ""
	case envFile != "":
		*value, *file = "", envFile
	case *value != "" && *file != "":
		return fmt.Errorf("%s and %s_file are both set in the config file: set one", yamlKey, yamlKey)
	}
	if *file == "" {
		return nil
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("%s file: %w", yamlKey, err) // names the path, never the content
	}
	*value = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if *value == "" {
		return fmt.Errorf("%s file %s is empty", yamlKey, *file)
	}
	return nil
}

// loadSecrets resolves the Kafka SASL and ClickHouse passwords (LoadConfig's last step).
func (c *Config) loadSecrets(getenv func(string) string) error {
	return errors.Join(
		loadSecret(getenv, "CODEVERIFY_KAFKA_SASL_PASSWORD", "kafka.sasl.password", &c.Kafka.SASL.Password, &c.Kafka.SASL.PasswordFile),
		loadSecret(getenv, "CODEVERIFY_CLICKHOUSE_PASSWORD", "clickhouse.password", &c.ClickHouse.Password, &c.ClickHouse.PasswordFile),
	)
}

// kafkaSecurity reads the TLS files and checks the SASL settings; the error names the setting.
func (c Config) kafkaSecurity() (streams.Security, error) {
	k := c.Kafka
	sasl := streams.SASL{Mechanism: k.SASL.Mechanism, Username: k.SASL.Username, Password: k.SASL.Password}
	var errs []error
	if err := sasl.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafka.%w", err))
	}
	tlsCfg, err := k.TLS.Load()
	if err != nil {
		errs = append(errs, fmt.Errorf("kafka.%w", err))
	}
	if len(c.Brokers) == 0 && (k.TLS.On() || k.SASL.Mechanism != "") {
		errs = append(errs, errors.New("kafka.tls / kafka.sasl are set but brokers is empty: the embedded broker is plaintext (set --brokers)"))
	}
	if err := errors.Join(errs...); err != nil {
		return streams.Security{}, err
	}
	return streams.Security{TLS: tlsCfg, SASL: sasl}, nil
}

// applyKafkaEnv reads the non-secret Kafka security variables.
func (c *Config) applyKafkaEnv(getenv func(string) string) {
	for env, dst := range map[string]*string{
		"CODEVERIFY_KAFKA_TLS_CA_FILE":     &c.Kafka.TLS.CAFile,
		"CODEVERIFY_KAFKA_TLS_CERT_FILE":   &c.Kafka.TLS.CertFile,
		"CODEVERIFY_KAFKA_TLS_KEY_FILE":    &c.Kafka.TLS.KeyFile,
		"CODEVERIFY_KAFKA_TLS_SERVER_NAME": &c.Kafka.TLS.ServerName,
		"CODEVERIFY_KAFKA_SASL_MECHANISM":  &c.Kafka.SASL.Mechanism,
		"CODEVERIFY_KAFKA_SASL_USERNAME":   &c.Kafka.SASL.Username,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	if getenv("CODEVERIFY_KAFKA_TLS") == "true" {
		c.Kafka.TLS.Enabled = true
	}
}

// bindKafkaFlags registers the non-secret Kafka security flags (passwords: environment or file only).
func bindKafkaFlags(root *cobra.Command, f *Config) {
	fs := root.PersistentFlags()
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

// cluster is the Kafka cluster every command talks to: the configured brokers with their security,
// or the embedded broker (plaintext).
func (a *app) cluster() streams.Cluster {
	return streams.Cluster{Brokers: a.brokers(), Security: a.kafkaSecurity}
}
