package trainer

import (
	"testing"
)

// ValidationFold is the fold Build deals: every problem of the dataset is held out exactly when its
// examples are in that fold.
func TestValidationFoldIsTheDatasetsFold(t *testing.T) {
	ps, cs, vs := labeled(23, 2, "test", func(_, i int) bool { return i == 0 })
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ProblemID)
	}
	for _, seed := range []uint64{1, 2, 99} {
		ds, err := Build(ps, cs, vs, BuildOptions{K: 1, Seed: seed, Folds: 5})
		if err != nil {
			t.Fatal(err)
		}
		sizes := 0
		for fold := range 5 {
			held := ValidationFold(ids, seed, 5, fold)
			sizes += len(held)
			for _, e := range ds.Examples {
				if held[e.ProblemID] != (e.Fold == fold) {
					t.Fatalf("seed %d fold %d: %s is in dataset fold %d, held-out=%v", seed, fold, e.ProblemID, e.Fold, held[e.ProblemID])
				}
			}
		}
		if sizes != len(ids) {
			t.Errorf("seed %d: the folds hold %d problems, want each of the %d once", seed, sizes, len(ids))
		}
	}
	for _, c := range []struct{ folds, valFold int }{{0, 0}, {1, 0}, {5, 5}, {5, -1}} {
		if held := ValidationFold(ids, 1, c.folds, c.valFold); held != nil {
			t.Errorf("fold %d of %d: %v, want none", c.valFold, c.folds, held)
		}
	}
}
