package streams

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// This file is the only place that dials Kafka: every kafka.Dialer, Transport, Conn, Reader,
// ConsumerGroup, Writer and Client of the package is made here from a Cluster, so none can miss
// its Security (TestOneDialSite holds that line).

// dialer is the one kafka.Dialer of conns, readers and consumer groups: kafka-go's defaults plus
// the cluster's TLS and SASL. A mechanism that cannot be built (only an invalid SASL, which
// validate refuses first) leaves SASL off, and the broker refuses the connection.
func (c Cluster) dialer() *kafka.Dialer {
	mech, _ := c.Security.SASL.mechanism()
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, SASLMechanism: mech}
	if c.Security.TLS != nil {
		d.DialFunc = c.dialTLS
	}
	return d
}

// transport is a new kafka.Transport (writers, clients) with the cluster's TLS and SASL. Each
// caller gets its own, so closing it closes its connections and nobody else's.
func (c Cluster) transport() *kafka.Transport {
	mech, _ := c.Security.SASL.mechanism()
	tr := &kafka.Transport{SASL: mech}
	if c.Security.TLS != nil {
		tr.Dial = c.dialTLS
	}
	return tr
}

// tlsHandshakeTimeout bounds a TLS handshake: a plaintext listener never answers one.
const tlsHandshakeTimeout = 5 * time.Second

// dialTLS is how dialers and transports connect when TLS is on: TCP, then the handshake here
// rather than in kafka-go, so that a failed handshake can say why. The server name is each
// broker's host unless the config names one, as kafka-go does.
func (c Cluster) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := c.Security.TLS
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		if serr := securityFailure(err, c.Security); serr != nil {
			return nil, serr
		}
		if ctx.Err() == nil && speaksPlainKafka(addr) {
			return nil, fmt.Errorf("%w: the broker %s speaks plaintext Kafka, not TLS (remove kafka.tls, or use its TLS listener): %w", ErrSecurity, addr, err)
		}
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// dial opens an admin connection to one broker.
func (c Cluster) dial(ctx context.Context, broker string) (*kafka.Conn, error) {
	conn, err := c.dialer().DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, c.explain(err)
	}
	return conn, nil
}

// dialLeader opens a connection to the leader of one partition.
func (c Cluster) dialLeader(ctx context.Context, broker, topic string, partition int) (*kafka.Conn, error) {
	conn, err := c.dialer().DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return nil, c.explain(err)
	}
	return conn, nil
}

// explain marks a security failure as ErrSecurity with its likely cause; other errors pass as
// they are. A TLS listener answers a plaintext request by closing the connection, which looks like
// any broker hanging up; so when a client without TLS sees a connection end early, explain asks
// the broker for a TLS handshake, and says so when it gets one.
func (c Cluster) explain(err error) error {
	if err == nil || errors.Is(err, ErrSecurity) {
		return err
	}
	if serr := securityFailure(err, c.Security); serr != nil {
		return serr
	}
	if !hungUp(err) {
		return err
	}
	for _, b := range c.Brokers {
		if c.Security.TLS == nil && speaksTLS(b) {
			return fmt.Errorf("%w: the broker %s speaks TLS, but this client has no TLS configured (set kafka.tls): %w", ErrSecurity, b, err)
		}
		if c.Security.SASL.Mechanism == "" && c.hangsUpUnauthenticated(b) {
			return fmt.Errorf("%w: the broker %s closes connections that did not authenticate: it requires SASL (set kafka.sasl): %w", ErrSecurity, b, err)
		}
	}
	return err
}

// hangsUpUnauthenticated reports whether broker answers ApiVersions and then closes the
// connection at a metadata request: what a listener that requires SASL does to a client that
// skipped it (Kafka allows only ApiVersions and the SASL exchange before authentication).
func (c Cluster) hangsUpUnauthenticated(broker string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := c.dialer().DialContext(ctx, "tcp", broker)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.ApiVersions(); err != nil {
		return false
	}
	_, err = conn.Brokers()
	return err != nil && hungUp(err)
}

// speaksPlainKafka reports whether addr answers a plaintext ApiVersions request within 2 s.
func speaksPlainKafka(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.ApiVersions()
	return err == nil
}

// hungUp reports whether err is a connection closed by the other side.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// speaksTLS reports whether addr completes a TLS handshake within a second. It sends no data and
// trusts nothing it learns beyond "this port speaks TLS", so it need not verify the certificate.
func speaksTLS(addr string) bool {
	d := &net.Dialer{Timeout: time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a probe, see above
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// newReader makes a reader of the cluster; cfg's Brokers and Dialer are set here.
func (c Cluster) newReader(cfg kafka.ReaderConfig) *kafka.Reader {
	cfg.Brokers = c.Brokers
	cfg.Dialer = c.dialer()
	return kafka.NewReader(cfg)
}

// newConsumerGroup makes a consumer group of the cluster; cfg's Brokers and Dialer are set here.
func (c Cluster) newConsumerGroup(cfg kafka.ConsumerGroupConfig) (*kafka.ConsumerGroup, error) {
	cfg.Brokers = c.Brokers
	cfg.Dialer = c.dialer()
	return kafka.NewConsumerGroup(cfg)
}

// newWriter is the one writer configuration: acks from all replicas, key-hash partitioning
// compatible with the Java client (murmur2), and almost no linger. Close the writer, then the
// transport it returns.
func (c Cluster) newWriter(topic string) (*kafka.Writer, *kafka.Transport) {
	tr := c.transport()
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        topic, // "" = per-message topics (the runner writes outputs and dead letters together)
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		// Callers hand over whole batches, so lingering for more only adds latency to each synchronous
		// write (the default 1 s would cap a runner at MaxInFlight messages per second).
		BatchTimeout: time.Millisecond,
		BatchSize:    1000,
		Transport:    tr,
	}, tr
}

// newClient is a request/response client of one broker.
func (c Cluster) newClient(broker string, timeout time.Duration) (*kafka.Client, *kafka.Transport) {
	tr := c.transport()
	return &kafka.Client{Addr: kafka.TCP(broker), Timeout: timeout, Transport: tr}, tr
}

// Check connects to the first broker and asks for its metadata once: a quick answer to "can we
// talk to this cluster", with an ErrSecurity error when TLS or SASL is what fails.
func (c Cluster) Check(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	conn, err := c.dial(ctx, c.Brokers[0])
	if err != nil {
		return fmt.Errorf("kafka %s: %w", c.Brokers[0], err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Brokers(); err != nil {
		return fmt.Errorf("kafka %s: %w", c.Brokers[0], c.explain(err))
	}
	return nil
}
