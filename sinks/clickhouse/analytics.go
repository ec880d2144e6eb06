package clickhouse

import (
	"context"
	"fmt"
	"reflect"
)

// Table is the result of a query whose columns the caller does not know in advance: the column
// names and, per row, each value as the driver scans it (string, uint64, float64, time.Time, …).
type Table struct {
	Columns []string
	Rows    [][]any
}

// Query runs one SQL statement written for people: a file of docs/sql or a dashboard panel's
// query. Whole-line comments are dropped and a final ';' is allowed; more than one statement is
// an error (the native protocol takes one per query).
func (s *Sink) Query(ctx context.Context, sql string) (Table, error) {
	q, err := singleStatement(sql)
	if err != nil {
		return Table{}, err
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return Table{}, fmt.Errorf("clickhouse: query: %w", err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	t := Table{Columns: rows.Columns()}
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Table{}, fmt.Errorf("clickhouse: query row %d: %w", len(t.Rows)+1, err)
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			row[i] = reflect.ValueOf(p).Elem().Interface()
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return Table{}, fmt.Errorf("clickhouse: query: %w", err)
	}
	return t, nil
}

// singleStatement returns the one statement in sql, without its comment lines.
func singleStatement(sql string) (string, error) {
	stmts := splitStatements(sql)
	if len(stmts) != 1 {
		return "", fmt.Errorf("clickhouse: want exactly one SQL statement, found %d", len(stmts))
	}
	return stmts[0], nil
}
