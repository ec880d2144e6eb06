package streams

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Cluster is where Kafka is and how to connect to it: every connection the package opens (admin,
// readers, consumer groups, writers) is made from it, so a secured cluster is secured everywhere.
type Cluster struct {
	Brokers  []string // bootstrap addresses, host:port
	Security Security
}

// validate says what keeps the cluster from being dialled at all.
func (c Cluster) validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("no brokers")
	}
	return c.Security.Validate()
}

// Security is how every connection to Kafka is secured. The zero value is plaintext without
// authentication (the embedded broker's default).
type Security struct {
	TLS  *tls.Config // nil: no TLS
	SASL SASL        // Mechanism "": no SASL
}

// Validate says what is wrong with the SASL settings (TLS was checked when it was loaded).
func (s Security) Validate() error { return s.SASL.Validate() }

// String describes the security without secrets, for logs.
func (s Security) String() string {
	t := "plaintext"
	if s.TLS != nil {
		t = "TLS"
	}
	if s.SASL.Mechanism == "" {
		return t
	}
	return t + " + " + s.SASL.String()
}

// LogValue keeps the password out of every log line that carries a Security.
func (s Security) LogValue() slog.Value { return slog.StringValue(s.String()) }

// The SASL mechanisms Kafka clients use; kafka-go implements these.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASLMechanisms lists the accepted mechanism names.
var SASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// SASL is a broker account and the mechanism that proves it. PLAIN sends the password itself, so
// use it only over TLS; SCRAM never sends it.
type SASL struct {
	Mechanism string // one of SASLMechanisms, case-insensitive; "" means no SASL
	Username  string
	Password  string
}

// mechanismName returns the canonical name, or "" for an unknown one.
func mechanismName(m string) string {
	for _, k := range SASLMechanisms {
		if strings.EqualFold(m, k) {
			return k
		}
	}
	return ""
}

// Validate: a known mechanism with a username and a password, or no mechanism and neither.
func (s SASL) Validate() error {
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" {
			return errors.New("sasl: a username or password is set but no mechanism (want one of " + strings.Join(SASLMechanisms, ", ") + ")")
		}
		return nil
	}
	if mechanismName(s.Mechanism) == "" {
		return fmt.Errorf("sasl: unknown mechanism %q (want one of %s)", s.Mechanism, strings.Join(SASLMechanisms, ", "))
	}
	var missing []string
	if s.Username == "" {
		missing = append(missing, "username")
	}
	if s.Password == "" {
		missing = append(missing, "password")
	}
	if len(missing) > 0 {
		return fmt.Errorf("sasl %s: no %s", mechanismName(s.Mechanism), strings.Join(missing, " and no "))
	}
	return nil
}

// String names the mechanism and user, never the password.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "no SASL"
	}
	return fmt.Sprintf("SASL %s as %q", mechanismName(s.Mechanism), s.Username)
}

// LogValue keeps the password out of logs.
func (s SASL) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString keeps the password out of %#v too.
func (s SASL) GoString() string { return "streams.SASL{" + s.String() + "}" }

// mechanism is kafka-go's implementation of s; nil without SASL.
func (s SASL) mechanism() (sasl.Mechanism, error) {
	switch mechanismName(s.Mechanism) {
	case "":
		if s.Mechanism == "" {
			return nil, nil
		}
		return nil, s.Validate()
	case SASLPlain:
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case SASLScramSHA256:
		return scram.Mechanism(scram.SHA256, s.Username, s.Password)
	default:
		return scram.Mechanism(scram.SHA512, s.Username, s.Password)
	}
}

// TLSFiles is a TLS client configuration read from PEM files. TLS is on when Enabled or when any
// field is set.
type TLSFiles struct {
	Enabled bool `yaml:"enabled"` // TLS with the system's roots, when no CA file is given
	// CAFile holds the PEM certificates that verify the brokers (replacing the system's roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate and its key, for brokers that require mutual
	// TLS: both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the brokers' certificates must carry; "" means each broker's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any broker certificate: encryption without authentication of the
	// broker, for tests only. Off unless set.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// On reports whether TLS is asked for.
func (f TLSFiles) On() bool {
	return f.Enabled || f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" || f.ServerName != "" || f.InsecureSkipVerify
}

// Load reads the files into a client tls.Config; nil (and no error) when TLS is off. Every error
// names the setting and the file.
func (f TLSFiles) Load() (*tls.Config, error) {
	if !f.On() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify}
	var errs []error
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("tls ca_file: %w", err))
		default:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("tls ca_file %s: no PEM certificate in it", f.CAFile))
			}
			cfg.RootCAs = pool
		}
	}
	switch {
	case f.CertFile != "" && f.KeyFile == "":
		errs = append(errs, fmt.Errorf("tls cert_file %s is set but key_file is not: a client certificate needs its key", f.CertFile))
	case f.CertFile == "" && f.KeyFile != "":
		errs = append(errs, fmt.Errorf("tls key_file %s is set but cert_file is not", f.KeyFile))
	case f.CertFile != "":
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("tls cert_file %s / key_file %s: %w", f.CertFile, f.KeyFile, err))
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ErrSecurity marks an error that retrying cannot cure: the broker refused the credentials, its
// certificate is not trusted, or the two sides disagree on TLS. Operations that otherwise retry
// while the broker is unreachable (EnsureTopics, joining a group, Table) return it at once.
var ErrSecurity = errors.New("kafka connection security")

// securityFailure returns err wrapped in ErrSecurity with what it most likely means, or nil when
// err is not recognizably a security failure (see also Cluster.explain). sec is what this client
// brought, for the message.
func securityFailure(err error, sec Security) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrSecurity) {
		return err
	}
	why := ""
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
		alert     tls.AlertError
	)
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		why = "SASL authentication failed (" + sec.SASL.String() + "): wrong username or password, or the mechanism is not enabled for this user"
	case errors.Is(err, kafka.UnsupportedSASLMechanism):
		why = "the broker does not accept SASL mechanism " + mechanismName(sec.SASL.Mechanism)
	case errors.Is(err, kafka.IllegalSASLState):
		why = "SASL exchange rejected by the broker"
	case errors.As(err, &hostname):
		why = "the broker's TLS certificate is for another name (check kafka.tls.server_name)"
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &verify):
		why = "the broker's TLS certificate is not trusted (check kafka.tls.ca_file)"
	case errors.As(err, &header):
		why = "TLS handshake failed: the broker does not speak TLS on this port (is its listener plaintext?)"
	case errors.As(err, &alert):
		why = "the broker refused the TLS handshake (does it require a client certificate?)"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrSecurity, why, err)
}
