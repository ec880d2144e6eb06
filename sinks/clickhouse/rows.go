package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// queryRows runs q with args and turns every result row into a T with scan, so that a reader
// states only its SQL and how a row maps onto its type. A row whose scan fails is dropped with the
// whole result, so scan may convert what it scanned before returning the scan's error. what names
// the rows in errors.
func queryRows[T any](ctx context.Context, conn driver.Conn, what, q string, args []any, scan func(driver.Rows, *T) error) ([]T, error) {
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("clickhouse: %s: row %d: %w", what, len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: %s: %w", what, err)
	}
	return out, nil
}

// insertRows sends rows as one batch of the insert statement and returns after the server accepted
// it, so a caller can commit its input offsets afterwards. check (nil: none) runs on every row
// before anything is sent: one bad row would make the server reject the whole batch with an error
// that does not say which row it was. values gives a row's values in the statement's column order;
// noun and id name a row in errors.
func insertRows[T any](ctx context.Context, conn driver.Conn, insert, noun string, rows []T, check func(T) error, id func(T) string, values func(T) []any) error {
	if len(rows) == 0 {
		return nil
	}
	if check != nil {
		for _, r := range rows {
			if err := check(r); err != nil {
				return err
			}
		}
	}
	b, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("clickhouse: prepare %s batch: %w", noun, err)
	}
	for _, r := range rows {
		if err := b.Append(values(r)...); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append %s %s: %w", noun, id(r), err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert %s batch of %d: %w", noun, len(rows), err)
	}
	return nil
}
