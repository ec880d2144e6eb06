package clickhouse

import (
	"context"
	"fmt"
)

// DropDatabase removes cfg.Database and everything in it; a database that is not there is no error.
// Test databases and throw-away evaluation databases end this way.
func DropDatabase(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, err := dial(ctx, cfg, "default")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
		return fmt.Errorf("clickhouse: drop database %s: %w", cfg.Database, err)
	}
	return nil
}
