package chtest

import (
	"context"
	"testing"

	"github.com/codeverify/codeverify/sinks/clickhouse"
)

func TestDatabaseIsDroppedWhenTheTestEnds(t *testing.T) {
	var cfg clickhouse.Config
	t.Run("uses", func(t *testing.T) {
		var s *clickhouse.Sink
		s, cfg = Open(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if other := Config(t); other.Database == cfg.Database {
			t.Fatalf("two tests share database %s", cfg.Database)
		}
	})
	if _, err := clickhouse.OpenReadOnly(context.Background(), cfg); err == nil {
		t.Fatalf("database %s still there after its test ended", cfg.Database)
	}
}
