package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/codeverify/codeverify/streams"
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
		loadSecret(getenv, "OPENAI_API_KEY", "generator.api_key", &c.Generator.APIKey, &c.Generator.APIKeyFile),
	)
}

// KafkaSecurity reads the TLS files and checks the SASL settings; the error names the setting.
func (c Config) KafkaSecurity() (streams.Security, error) {
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
