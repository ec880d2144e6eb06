-- Pass rate of each model on each benchmark and split: how many candidates were executed, how many
-- pass the hidden tests, and over how many problems. Reads the pass_rate_daily view (migration
-- 0006), which counts each candidate once however often its verdict was delivered.
--   clickhouse-client --database codeverify --multiquery < docs/sql/pass_rate_by_model.sql
--
-- Columns: model, benchmark, split; problems (distinct problems with a verdict); candidates;
-- passed; pass_rate (passed / candidates, the mean pass@1 weighted by candidates).
SELECT model, benchmark, split, problems, candidates, passed, passed / candidates AS pass_rate
FROM
(
    SELECT
        model, benchmark, split,
        uniqExact(problem_id) AS problems,
        sum(candidates)       AS candidates,
        sum(passed)           AS passed
    FROM pass_rate_daily
    GROUP BY model, benchmark, split
)
ORDER BY model, benchmark, split;
