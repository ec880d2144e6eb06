package clickhouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrNoDatabase: a read-only open found no such database; ErrSchemaBehind: it found one whose
// migrations are not all applied. Neither is fixed by a read-only command: a writing one (sink,
// execute, label) creates and migrates the database.
var (
	ErrNoDatabase   = errors.New("database does not exist")
	ErrSchemaBehind = errors.New("database schema is not current")
)

// OpenReadOnly connects for reading only (reports, evaluations, lookups): it creates no database
// and no table and applies no migration. A mistyped database name is an error rather than a new,
// empty database that reads as "no data".
func OpenReadOnly(ctx context.Context, cfg Config) (*Sink, error) {
	return open(ctx, cfg, func(boot driver.Conn, cfg Config) error {
		var n uint64
		if err := boot.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", cfg.Database).Scan(&n); err != nil {
			return fmt.Errorf("clickhouse: look up database %s: %w", cfg.Database, err)
		}
		if n == 0 {
			return readOnlyError{ErrNoDatabase, fmt.Sprintf("database %s does not exist on ClickHouse %s (nothing was created: check --clickhouse-db; the sink creates it)",
				cfg.Database, cfg.Addr)}
		}
		return nil
	}, (*Sink).checkSchema)
}

// checkSchema reports whether every embedded migration is recorded as applied.
func (s *Sink) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'", s.db).Scan(&n); err != nil {
		return fmt.Errorf("clickhouse: look up schema_migrations: %w", err)
	}
	applied := map[uint32]bool{}
	if n > 0 {
		if applied, err = s.appliedVersions(ctx); err != nil {
			return err
		}
	}
	for _, m := range ms {
		if !applied[m.version] {
			return readOnlyError{ErrSchemaBehind, fmt.Sprintf("database %s is not at the current schema: migration %04d_%s is not applied (a writing command such as `codeverify sink` applies it)",
				s.db, m.version, m.name)}
		}
	}
	return nil
}

// readOnlyError reads as its message alone and matches its kind with errors.Is.
type readOnlyError struct {
	kind error
	msg  string
}

func (e readOnlyError) Error() string { return e.msg }
func (e readOnlyError) Unwrap() error { return e.kind }
