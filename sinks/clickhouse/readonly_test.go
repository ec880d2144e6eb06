package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	if err := ensureServer(); err != nil {
		t.Skipf("no ClickHouse server: %v", err)
	}
	ctx := context.Background()
	cfg := testConfig(t) // a database nobody created; dropped when the test ends
	_, err := OpenReadOnly(ctx, cfg)
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "database "+cfg.Database+" does not exist") {
		t.Fatalf("missing database: got %v", err)
	}
	// Nothing was created: a writing Open on a fresh name still has to create it.
	boot, err := dial(ctx, cfg.withDefaults(), "default")
	if err != nil {
		t.Fatal(err)
	}
	defer boot.Close()
	var n uint64
	if err := boot.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", cfg.Database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("read-only open created database %s", cfg.Database)
	}

	// A database that exists but was never migrated (or is behind) is refused too.
	if err := boot.Exec(ctx, "CREATE DATABASE "+cfg.Database); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReadOnly(ctx, cfg); !errors.Is(err, ErrSchemaBehind) {
		t.Fatalf("unmigrated database: got %v", err)
	}
	var tables uint64
	if err := boot.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ?", cfg.Database).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("read-only open created %d tables", tables)
	}

	// Once migrated, it opens and reads.
	w, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := OpenReadOnly(ctx, cfg)
	if err != nil {
		t.Fatalf("migrated database: %v", err)
	}
	defer r.Close()
	if _, err := r.Report(ctx, ReportFilter{}); err != nil {
		t.Fatal(err)
	}
}
