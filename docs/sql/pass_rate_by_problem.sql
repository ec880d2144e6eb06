-- Pass rate of each problem per model, benchmark and split, hardest first: the problems no sample
-- solves (passed = 0) head the list. Reads the pass_rate_daily view (migration 0006), summed over
-- days, so a candidate re-executed on a later day still counts once.
--   clickhouse-client --database codeverify --multiquery < docs/sql/pass_rate_by_problem.sql
--
-- Columns: model, benchmark, split, problem_id; candidates (samples executed); passed; pass_rate
-- (passed / candidates); first_day and last_day (UTC days of the problem's newest executions).
SELECT
    model, benchmark, split, problem_id, candidates, passed,
    passed / candidates AS pass_rate,
    first_day, last_day
FROM
(
    SELECT
        model, benchmark, split, problem_id,
        sum(candidates) AS candidates,
        sum(passed)     AS passed,
        min(day)        AS first_day,
        max(day)        AS last_day
    FROM pass_rate_daily
    GROUP BY model, benchmark, split, problem_id
)
ORDER BY model, benchmark, split, pass_rate, problem_id;
