-- How often CodeT's top agreement cluster contains a passing candidate, per benchmark, split and
-- model. This file is the query `codeverify` runs (embedded by sinks/clickhouse/agreement.go for
-- Sink.Agreement; docs/sql/codet_top_cluster.sql is a link to it); run it by hand with
--   clickhouse-client --database codeverify --multiquery < docs/sql/codet_top_cluster.sql
--
-- A cluster is the set of candidates of one request (one model sampling one problem) that pass
-- exactly the same generated tests (behaviors.test_status = 'pass'). CodeT's dual agreement scores
-- a cluster by its number of candidates times its number of passed tests, so a large cluster that
-- passes nothing scores 0. The top cluster is the best-scoring one; when several tie, each counts
-- equally (as if a reranker picked among them at random). Whether a candidate really passes is its
-- verdict on the hidden tests; behaviours without a verdict are left out.
--
-- Columns: requests; top_cluster_pass, the mean over requests of the share of top clusters holding
-- a passing candidate (what picking from the top cluster achieves); any_pass, the share of requests
-- with any passing candidate (the ceiling); random_pass, the mean per-request pass rate (picking a
-- candidate at random).
--
-- Written for ClickHouse 18.16 as much as for current servers: no window functions, JOIN with
-- explicit strictness and USING, subqueries for FINAL on both sides.
SELECT
    benchmark, split, model,
    count()          AS requests,
    avg(top_pass)    AS top_cluster_pass,
    avg(any_pass)    AS any_pass,
    avg(random_pass) AS random_pass
FROM
(
    SELECT
        benchmark, split, model, request_id,
        groupArray(score)                                    AS scores,
        groupArray(has_pass)                                 AS has_passes,
        arrayReduce('max', scores)                           AS best,
        arrayFilter((h, s) -> s = best, has_passes, scores)  AS top,
        arraySum(top) / length(top)                          AS top_pass,
        max(has_pass)                                        AS any_pass,
        sum(passes) / sum(size)                              AS random_pass
    FROM
    (
        SELECT
            benchmark, split, model, request_id, passed,
            count()                  AS size,
            count() * length(passed) AS score,
            max(label = 'PASS')      AS has_pass,
            sum(label = 'PASS')      AS passes
        FROM
        (
            SELECT
                candidate_id, benchmark, split, model, request_id,
                arraySort(arrayDistinct(arrayFilter((id, st) -> st = 'pass', test_id, test_status))) AS passed
            FROM behaviors FINAL
        )
        ALL INNER JOIN
        (
            SELECT candidate_id, label FROM verdicts FINAL
        ) USING candidate_id
        GROUP BY benchmark, split, model, request_id, passed
    )
    GROUP BY benchmark, split, model, request_id
)
GROUP BY benchmark, split, model
ORDER BY benchmark, split, model
