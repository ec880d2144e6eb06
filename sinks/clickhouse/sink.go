// Package clickhouse stores verdicts in ClickHouse and computes pass@k reports from them.
//
// It is the only package that imports the ClickHouse client. It speaks the native protocol:
// clickhouse-go's HTTP mode does not work against the 18.16 server used locally and in CI, and
// every statement here is plain SQL that also runs on the modern servers used in production.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config says where the sink writes.
type Config struct {
	Addr        string        // host:port of the native protocol; default 127.0.0.1:9000
	Database    string        // created if missing; default codeverify
	Username    string        // default "default"
	Password    string        //
	DialTimeout time.Duration // default 10s
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:9000"
	}
	if c.Database == "" {
		c.Database = "codeverify"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	return c
}

// The database name is spliced into DDL (identifiers cannot be bound), so only plain names pass.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports why a config cannot work.
func (c Config) Validate() error {
	if !identRe.MatchString(c.Database) {
		return fmt.Errorf("clickhouse: database name %q must match %s", c.Database, identRe)
	}
	return nil
}

// Sink writes verdicts to one database.
type Sink struct {
	conn driver.Conn
	db   string
}

// Open connects, creates the database if it is missing and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Sink, error) {
	return open(ctx, cfg, func(boot driver.Conn, cfg Config) error {
		if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database); err != nil {
			return fmt.Errorf("clickhouse: create database %s: %w", cfg.Database, err)
		}
		return nil
	}, (*Sink).Migrate)
}

// open fills cfg's defaults and validates it, runs boot over a connection to "default" (the server
// rejects a handshake that names a missing database, so that is where the database is looked up or
// created), then connects to cfg.Database and runs ready on the sink, closing it if ready fails.
func open(ctx context.Context, cfg Config, boot func(driver.Conn, Config) error, ready func(*Sink, context.Context) error) (*Sink, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bc, err := dial(ctx, cfg, "default")
	if err != nil {
		return nil, err
	}
	err = boot(bc, cfg)
	bc.Close()
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	s := &Sink{conn: conn, db: cfg.Database}
	if err := ready(s, ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func dial(ctx context.Context, cfg Config, database string) (driver.Conn, error) {
	conn, err := ch.Open(&ch.Options{
		Protocol:    ch.Native,
		Addr:        []string{cfg.Addr},
		Auth:        ch.Auth{Database: database, Username: cfg.Username, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout,
		// LZ4 is what the native protocol has always supported; it halves the bytes of code hashes.
		Compression: &ch.Compression{Method: ch.CompressionLZ4},
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse: open %s: %w", cfg.Addr, err)
	}
	// ch.Open is lazy; ping so a wrong address fails here rather than at the first write.
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: ping %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// IsServerError reports whether err carries an exception the server sent (bad credentials, a
// statement it refused), as opposed to a failure to reach it: waiting does not cure the former.
func IsServerError(err error) bool {
	var e *ch.Exception
	return errors.As(err, &e)
}

// Close releases the connections.
func (s *Sink) Close() error { return s.conn.Close() }

// Database is the name of the database the sink writes to.
func (s *Sink) Database() string { return s.db }

// Ping asks the server for a round trip: the sink's readiness check while it runs.
func (s *Sink) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }
