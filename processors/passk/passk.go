// Package passk computes pass@k, the unbiased estimator of Chen et al. 2021 ("Evaluating Large
// Language Models Trained on Code", arXiv:2107.03374, Figure 3).
package passk

import (
	"math"
	"sort"
)

// PassAtK estimates the probability that at least one of k samples drawn (without replacement)
// from n generated samples, c of them correct, is correct: 1 - C(n-c, k) / C(n, k).
// The product form 1 - Π_{i=n-c+1..n} (1 - k/i) avoids the huge binomial coefficients.
// It returns NaN when the estimate is undefined (n < k, k < 1, c < 0 or c > n).
func PassAtK(n, c, k int) float64 {
	if k < 1 || n < k || c < 0 || c > n {
		return math.NaN()
	}
	if n-c < k { // every k-subset contains a correct sample
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// Score is the mean pass@k over the problems that have at least k samples.
type Score struct {
	K        int
	PassAtK  float64 // NaN when Problems is 0
	Problems int     // problems with n ≥ k that entered the mean
	Skipped  int     // problems with n < k
}

// Summary averages pass@k over problems for each k. perProblem maps a problem id to {n, c}:
// samples generated and samples that passed.
func Summary(perProblem map[string][2]int, ks []int) []Score {
	// Sum in a fixed order so the result does not depend on map iteration.
	ids := make([]string, 0, len(perProblem))
	for id := range perProblem {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	scores := make([]Score, 0, len(ks))
	for _, k := range ks {
		s := Score{K: k}
		sum := 0.0
		for _, id := range ids {
			nc := perProblem[id]
			v := PassAtK(nc[0], nc[1], k)
			if math.IsNaN(v) {
				s.Skipped++
				continue
			}
			sum += v
			s.Problems++
		}
		s.PassAtK = math.NaN()
		if s.Problems > 0 {
			s.PassAtK = sum / float64(s.Problems)
		}
		scores = append(scores, s)
	}
	return scores
}
