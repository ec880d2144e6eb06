package trainer

import (
	"math"
	"strings"
	"testing"
)

// A validation fold outside the deal, or given together with cross-validation, is refused.
func TestCheckValFold(t *testing.T) {
	for _, c := range []struct {
		valFold, folds, cv int
		set                bool
		want               string
	}{
		{4, 4, 0, true, "--val-fold 4: want 0 … 3"},
		{5, 5, 0, true, "--val-fold 5: want 0 … 4"},
		{-1, 5, 0, true, "--val-fold -1"},
		{1, 5, 5, true, "--val-fold and --cv exclude each other"},
	} {
		if err := CheckValFold(c.valFold, c.folds, c.cv, c.set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c, err, c.want)
		}
	}
	for _, c := range []struct{ valFold, folds, cv int }{{0, 5, 0}, {4, 5, 0}, {2, 3, 0}} {
		if err := CheckValFold(c.valFold, c.folds, c.cv, true); err != nil {
			t.Errorf("val fold %d of %d: %v", c.valFold, c.folds, err)
		}
	}
	if err := CheckValFold(0, 5, 5, false); err != nil {
		t.Errorf("cross-validation without a validation fold: %v", err)
	}
}

// The cross-validation summary is the sample mean and standard deviation over folds.
func TestMeanStd(t *testing.T) {
	if m, sd := meanStd([]float64{1, 2, 3, 4}); m != 2.5 || math.Abs(sd-math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("mean %v sd %v", m, sd)
	}
	if m, sd := meanStd([]float64{0.5}); m != 0.5 || sd != 0 {
		t.Errorf("one fold: mean %v sd %v", m, sd)
	}
	if m, _ := meanStd(nil); !math.IsNaN(m) {
		t.Errorf("no folds: mean %v, want NaN", m)
	}
}
