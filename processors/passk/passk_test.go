package passk

import (
	"math"
	"math/big"
	"testing"
)

// byBinomials is the definition, 1 - C(n-c, k) / C(n, k), in exact arithmetic.
func byBinomials(n, c, k int) float64 {
	num := new(big.Int).Binomial(int64(n-c), int64(k)) // 0 when n-c < k
	den := new(big.Int).Binomial(int64(n), int64(k))
	r, _ := new(big.Rat).SetFrac(num, den).Float64()
	return 1 - r
}

func TestPassAtKMatchesDefinition(t *testing.T) {
	for _, n := range []int{1, 2, 5, 10, 20, 100, 200} {
		for c := 0; c <= n; c++ {
			for _, k := range []int{1, 2, 5, 10, 16, 50, 100} {
				if k > n {
					continue
				}
				got, want := PassAtK(n, c, k), byBinomials(n, c, k)
				if math.Abs(got-want) > 1e-12 {
					t.Fatalf("PassAtK(%d,%d,%d) = %v, want %v", n, c, k, got, want)
				}
			}
		}
	}
	if got := PassAtK(10, 3, 1); math.Abs(got-0.3) > 1e-15 { // pass@1 is c/n
		t.Errorf("pass@1 = %v", got)
	}
}

func TestPassAtKUndefined(t *testing.T) {
	for _, a := range [][3]int{{5, 1, 10}, {5, 1, 0}, {5, -1, 1}, {5, 6, 1}} {
		if v := PassAtK(a[0], a[1], a[2]); !math.IsNaN(v) {
			t.Errorf("PassAtK%v = %v, want NaN", a, v)
		}
	}
}

func TestSummary(t *testing.T) {
	per := map[string][2]int{"a": {10, 0}, "b": {10, 10}, "c": {10, 5}, "short": {3, 1}}
	s := Summary(per, []int{1, 10, 100})
	if s[0].K != 1 || s[0].Problems != 4 || math.Abs(s[0].PassAtK-(0+1+0.5+1.0/3)/4) > 1e-12 {
		t.Errorf("pass@1: %+v", s[0])
	}
	if s[1].Problems != 3 || s[1].Skipped != 1 || math.Abs(s[1].PassAtK-(0+1+1)/3.0) > 1e-12 {
		t.Errorf("pass@10: %+v", s[1])
	}
	if s[2].Problems != 0 || !math.IsNaN(s[2].PassAtK) {
		t.Errorf("pass@100: %+v", s[2])
	}
}
