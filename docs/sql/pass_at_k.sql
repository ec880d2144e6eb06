-- Unbiased pass@k (Chen et al. 2021) per model, benchmark and split, for k = 1, 10 and 100:
-- 1 - C(n-c, k) / C(n, k) for a problem with n samples of which c pass, averaged over the problems
-- with at least k samples. Reads the pass_at_k view (migration 0006), which computes it in SQL.
--   clickhouse-client --database codeverify --multiquery < docs/sql/pass_at_k.sql
--
-- Columns: model, benchmark, split; problems; candidates; passed; zero_pass_problems (problems no
-- sample solves); pass_at_1, pass_at_10, pass_at_100 (nan when no problem has k samples);
-- problems_k10, problems_k100 (the problems with at least 10 / 100 samples, which those means
-- are over; pass_at_1 is over all problems).
SELECT
    model, benchmark, split, problems, candidates, passed, zero_pass_problems,
    pass_at_1, pass_at_10, pass_at_100, problems_k10, problems_k100
FROM pass_at_k
ORDER BY model, benchmark, split;
