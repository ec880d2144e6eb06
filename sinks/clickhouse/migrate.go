package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version    uint32
	name       string
	statements []string
}

// Files are named NNNN_name.sql; the number orders them and is the version recorded once applied.
var migrationNameRe = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[uint32]string{}
	for _, e := range entries {
		m := migrationNameRe.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("clickhouse: migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("clickhouse: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[uint32(v)] = e.Name()
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: uint32(v), name: m[2], statements: splitStatements(string(body))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// splitStatements cuts a file into statements at a ';' that ends a line: the native protocol takes
// one statement per query. Whole-line comments are dropped so a comment alone is not sent as a
// query (the server rejects an empty one).
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		if strings.HasSuffix(t, ";") {
			cur.WriteString(strings.TrimSuffix(t, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	flush()
	return out
}

// Migrate applies, in version order, each embedded migration not yet recorded in
// schema_migrations. The DDL itself uses IF NOT EXISTS, so a migration interrupted between its
// DDL and its bookkeeping row is safe to re-run.
func (s *Sink) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	// ReplacingMergeTree so two processes migrating at once leave one row per version after FINAL.
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`); err != nil {
		return fmt.Errorf("clickhouse: create schema_migrations: %w", err)
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for i, stmt := range m.statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("clickhouse: migration %04d_%s statement %d: %w", m.version, m.name, i+1, err)
			}
		}
		// A batch, not INSERT … VALUES: inline VALUES hang on 18.16 with this client.
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
		if err != nil {
			return fmt.Errorf("clickhouse: record migration %04d: %w", m.version, err)
		}
		if err := b.Append(m.version, m.name, time.Now()); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: record migration %04d: %w", m.version, err)
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("clickhouse: record migration %04d: %w", m.version, err)
		}
	}
	return nil
}

func (s *Sink) appliedVersions(ctx context.Context) (map[uint32]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations FINAL")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}
