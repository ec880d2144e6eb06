package clickhouse

import (
	"context"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestMigrationsAppliedOnceInOrder(t *testing.T) {
	s := testSink(t)
	ctx := context.Background()
	// Open again on the same database, then migrate a third time: nothing may be re-applied.
	s2, err := Open(ctx, Config{Addr: serverAddr(), Database: s.Database()})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s2.Close()
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	// No FINAL: a second bookkeeping row would be a migration applied twice.
	rows, err := s.conn.Query(ctx, "SELECT version, name FROM schema_migrations ORDER BY applied_at, version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v uint32
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schema_migrations = %v, want each of %v exactly once", got, want)
	}
	if len(want) == 0 || want[0] != "verdicts" {
		t.Fatalf("first migration = %v, want verdicts", want)
	}
	var engine string
	if err := s.conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'verdicts'").Scan(&engine); err != nil {
		t.Fatal(err)
	}
	if engine != "ReplacingMergeTree" {
		t.Fatalf("verdicts engine = %q, want ReplacingMergeTree", engine)
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- a comment; with a semicolon\nCREATE TABLE a\n(\n  x UInt8 -- trailing\n);\n\n-- only a comment\nALTER TABLE a ADD COLUMN y String;\n")
	want := []string{"CREATE TABLE a\n(\n  x UInt8 -- trailing\n)", "ALTER TABLE a ADD COLUMN y String"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
}

// The local and CI server is 18.16; production runs a current one. These are the constructs that
// work on only one of them (see docs/platform-notes.md).
var versionSpecific = regexp.MustCompile(`\b(LowCardinality|DateTime64|Map|Bool|JSON|Date32|IPv4|Int128|arrayProduct|log1p)\b|\{\w+:\w+\}`)

func TestSQLAvoidsVersionSpecificFeatures(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	sql := []string{insertVerdicts, reportSQL}
	for _, m := range ms {
		sql = append(sql, m.statements...)
	}
	for _, q := range sql {
		if bad := versionSpecific.FindString(q); bad != "" {
			t.Errorf("%q in:\n%s", bad, q)
		}
	}
	if !strings.Contains(insertVerdicts, "(") {
		t.Errorf("insert without a column list fails on 18.16: %s", insertVerdicts)
	}
}
