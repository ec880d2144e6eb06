package evaluation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/codeverify/codeverify/processors/reranker"
)

// A table that cannot be written is an error, not a silently missing table.
func TestWriteEvalTableReportsAWriteError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "table"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := writeEvalTable(f, []reranker.ReportRow{{ModelVersion: "v1", Scope: "holdout"}}); err == nil {
		t.Error("writing to a closed file succeeded")
	}
}
