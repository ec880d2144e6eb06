package clickhouse

import (
	"math"
	"math/big"
	"testing"
)

// exactPassAtK computes 1 - C(n-c,k)/C(n,k) with exact integers.
func exactPassAtK(n, c, k int) float64 {
	num := new(big.Int).Binomial(int64(n-c), int64(k))
	den := new(big.Int).Binomial(int64(n), int64(k))
	r, _ := new(big.Rat).SetFrac(num, den).Float64()
	return 1 - r
}

func TestPassAtKMatchesBinomials(t *testing.T) {
	for _, k := range []int{1, 10, 100} {
		for n := k; n <= 220; n += 7 {
			for c := 0; c <= n; c += 3 {
				got, want := PassAtK(n, c, k), exactPassAtK(n, c, k)
				if math.Abs(got-want) > 1e-12 {
					t.Fatalf("PassAtK(%d,%d,%d) = %v, want %v", n, c, k, got, want)
				}
			}
		}
	}
	for _, tc := range []struct {
		n, c, k int
		want    float64
	}{
		{10, 3, 1, 0.3}, {10, 0, 10, 0}, {10, 1, 10, 1}, {100, 1, 10, 0.1}, {100, 1, 100, 1}, {20, 3, 10, 1 - 19448.0/184756},
	} {
		if got := PassAtK(tc.n, tc.c, tc.k); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("PassAtK(%d,%d,%d) = %v, want %v", tc.n, tc.c, tc.k, got, tc.want)
		}
	}
	if !math.IsNaN(PassAtK(5, 2, 10)) {
		t.Error("PassAtK with n < k must be NaN")
	}
}
