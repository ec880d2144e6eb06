package trainer

import (
	"math/rand/v2"
	"slices"
)

// DealFolds deals problems into folds: the sorted distinct problem ids, shuffled from seed, dealt
// round-robin, so folds differ in size by at most one problem and a problem's samples never straddle
// train and validation. It is the one definition of the split: the dataset deals with it and eval
// --holdout recomputes a model's validation fold with it.
func DealFolds(problems []string, seed uint64, folds int) map[string]int {
	shuffled := slices.Clone(problems)
	slices.Sort(shuffled)
	shuffled = slices.Compact(shuffled)
	rand.New(rand.NewPCG(seed, 0x666f6c6473)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	fold := make(map[string]int, len(shuffled))
	for i, p := range shuffled {
		fold[p] = i % max(folds, 1)
	}
	return fold
}

// ValidationFold is the set of problems DealFolds puts in fold valFold: the problems a model trained
// with that validation fold never trained on. It is that model's fold only when problems are the
// ones its dataset dealt. nil when the fold is not one of folds (fewer than two folds: no deal).
func ValidationFold(problems []string, seed uint64, folds, valFold int) map[string]bool {
	if folds < 2 || valFold < 0 || valFold >= folds {
		return nil
	}
	held := map[string]bool{}
	for p, f := range DealFolds(problems, seed, folds) {
		if f == valFold {
			held[p] = true
		}
	}
	return held
}
