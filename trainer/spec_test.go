package trainer

import (
	"strings"
	"testing"
	"time"
)

// The dataset flags become replay and build options; bad values are refused naming the flag.
func TestDatasetSpec(t *testing.T) {
	d := DatasetSpec{Splits: []string{"train"}, Since: "2026-01-02T03:04:05Z", Offsets: "candidates:0=7", K: 3, Folds: 4, DrawSize: 16, Draws: 0, Seed: 9}
	ro, err := d.ReplayOptions(nil)
	if err != nil || !ro.Since.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || ro.Offsets["candidates"][0] != 7 || ro.NoVerdicts {
		t.Errorf("replay options %+v (%v)", ro, err)
	}
	if bo := d.BuildOptions(); bo.K != 3 || bo.Folds != 4 || bo.Seed != 9 || bo.Drawn() || bo.DrawSize != 0 || bo.Splits[0] != "train" {
		t.Errorf("without draws: %+v", bo)
	}
	d.Draws = 20
	if bo := d.BuildOptions(); !bo.Drawn() || bo.DrawSize != 16 || bo.Draws != 20 {
		t.Errorf("with draws: %+v", bo)
	}
	d.Labels = LabelsClickHouse
	if ro, err := d.ReplayOptions(nil); err != nil || !ro.NoVerdicts {
		t.Errorf("clickhouse labels: %+v (%v)", ro, err)
	}
	for _, c := range []struct {
		spec DatasetSpec
		want string
	}{
		{DatasetSpec{Since: "yesterday"}, "--since"},
		{DatasetSpec{Labels: "kafka"}, `--labels "kafka": want topic or clickhouse`},
		{DatasetSpec{Labels: LabelsClickHouse, Offsets: "verdicts:0=3"}, "drop the verdicts offsets"},
	} {
		if _, err := c.spec.ReplayOptions(nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}
