-- How failing candidates fail, day by day: per model and UTC day, the count of failing verdicts of
-- each failure kind (syntax, assertion, exception, timeout, …) and its share of that day's
-- failures. Reads the failure_kinds_daily view (migration 0006), which counts each candidate once.
--   clickhouse-client --database codeverify --multiquery < docs/sql/failure_kinds_daily.sql
--
-- Columns: day (UTC); model; failure_kind; verdicts (failing candidates of that kind, over all
-- benchmarks and splits); share (verdicts / all failing candidates of the model that day).
SELECT
    day, model, failure_kind, verdicts,
    verdicts / day_total AS share
FROM
(
    SELECT day, model, failure_kind, sum(verdicts) AS verdicts
    FROM failure_kinds_daily
    GROUP BY day, model, failure_kind
)
ALL INNER JOIN
(
    SELECT day, model, sum(verdicts) AS day_total
    FROM failure_kinds_daily
    GROUP BY day, model
) USING (day, model)
ORDER BY day, model, verdicts DESC, failure_kind;
