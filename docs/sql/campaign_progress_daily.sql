-- Progress of a sampling campaign day by day: per model, benchmark and split, how many candidates
-- had their newest execution on each UTC day, over how many problems, and how many of them pass.
-- Reads the pass_rate_daily view (migration 0006).
--   clickhouse-client --database codeverify --multiquery < docs/sql/campaign_progress_daily.sql
--
-- Columns: day (UTC); model, benchmark, split; problems (problems with a candidate that day);
-- candidates; passed; pass_rate (passed / candidates).
SELECT day, model, benchmark, split, problems, candidates, passed, passed / candidates AS pass_rate
FROM
(
    SELECT
        day, model, benchmark, split,
        count()         AS problems,
        sum(candidates) AS candidates,
        sum(passed)     AS passed
    FROM pass_rate_daily
    GROUP BY day, model, benchmark, split
)
ORDER BY day, model, benchmark, split;
