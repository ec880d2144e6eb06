package clickhouse

import (
	"fmt"
	"math"
)

// PassAtK is the unbiased pass@k estimator of Chen et al. 2021 for one problem with n samples of
// which c passed: 1 - C(n-c, k) / C(n, k). It uses the product form
// 1 - prod_{i=n-c+1..n} (1 - k/i), which never forms a large binomial. It is NaN when n < k
// (the estimate is undefined) and 1 when fewer than k samples fail.
func PassAtK(n, c, k int) float64 {
	if k <= 0 || n < k || c < 0 || c > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// passAtKSQL is PassAtK as a ClickHouse expression over the UInt64 columns n and c. It sums logs
// instead of multiplying because 18.16 has no arrayProduct; exp, log, arraySum, arrayMap and range
// exist on 18.16 and on current servers. if() evaluates both branches, so the log(<=0) it computes
// when n - c < k is discarded, never returned.
func passAtKSQL(k int) string {
	return fmt.Sprintf("if(n - c < %[1]d, 1., 1. - exp(arraySum(arrayMap(i -> log(1. - %[1]d / (n - c + 1 + i)), range(c)))))", k)
}
