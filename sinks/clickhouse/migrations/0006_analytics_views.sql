-- Analytics views: the figures docs/sql and the Grafana dashboard read. They are plain views, not
-- materialized ones: delivery is at-least-once, and a materialized view aggregates each inserted
-- block as it arrives, so a redelivered verdict would be counted twice and no later merge could
-- take it back. A view runs its query at read time over FINAL, which has collapsed redeliveries
-- (and re-executions: the newest row of a candidate is the one counted). Days are UTC whatever the
-- server's time zone. Written for 18.16 and current servers alike: no window functions, no
-- arrayProduct, no parameters.

-- Per (model, benchmark, split, problem, day): candidates executed and passed. A candidate counts
-- on the day of its newest execution.
CREATE VIEW IF NOT EXISTS pass_rate_daily AS
SELECT
    model, benchmark, split, problem_id,
    toDate(executed_at, 'UTC')  AS day,
    count()                     AS candidates,
    countIf(label = 'PASS')     AS passed,
    countIf(label = 'PASS') / count() AS pass_rate
FROM verdicts FINAL
GROUP BY model, benchmark, split, problem_id, day;

-- Per (model, benchmark, split, day, failure kind): failing verdicts (a PASS has no failure kind).
CREATE VIEW IF NOT EXISTS failure_kinds_daily AS
SELECT
    model, benchmark, split,
    toDate(executed_at, 'UTC') AS day,
    failure_kind,
    count()                    AS verdicts
FROM verdicts FINAL
WHERE label = 'FAIL'
GROUP BY model, benchmark, split, day, failure_kind;

-- Per (model, benchmark, split): the unbiased pass@k of Chen et al. (2021), 1 - C(n-c, k) / C(n, k)
-- for a problem with n samples of which c pass, averaged over the problems with n >= k (NaN when
-- there are none; problems_k10 and problems_k100 say how many entered). The product form
-- 1 - prod_{i=n-c+1..n} (1 - k/i) is summed as logs because 18.16 has no arrayProduct; if()
-- computes both branches, and the log of a non-positive number it meets when n - c < k is
-- discarded there (every k-subset then holds a pass: 1).
CREATE VIEW IF NOT EXISTS pass_at_k AS
SELECT
    model, benchmark, split,
    count()          AS problems,
    sum(n)           AS candidates,
    sum(c)           AS passed,
    countIf(c = 0)   AS zero_pass_problems,
    avgIf(if(n - c < 1, 1., 1. - exp(arraySum(arrayMap(i -> log(1. - 1 / (n - c + 1 + i)), range(c))))), n >= 1) AS pass_at_1,
    avgIf(if(n - c < 10, 1., 1. - exp(arraySum(arrayMap(i -> log(1. - 10 / (n - c + 1 + i)), range(c))))), n >= 10) AS pass_at_10,
    avgIf(if(n - c < 100, 1., 1. - exp(arraySum(arrayMap(i -> log(1. - 100 / (n - c + 1 + i)), range(c))))), n >= 100) AS pass_at_100,
    countIf(n >= 10)  AS problems_k10,
    countIf(n >= 100) AS problems_k100
FROM
(
    SELECT model, benchmark, split, problem_id, count() AS n, countIf(label = 'PASS') AS c
    FROM verdicts FINAL
    GROUP BY model, benchmark, split, problem_id
)
GROUP BY model, benchmark, split;

-- Calibration of the verifier, per (model version, evaluation, energy bucket): how many drawn
-- candidates had an energy in [energy_lo, energy_lo + 0.5) and how many of them really pass. A
-- calibrated verifier's pass rate falls as the energy rises.
CREATE VIEW IF NOT EXISTS verifier_calibration AS
SELECT
    model_version, eval_id,
    floor(energy * 2) / 2 AS energy_lo,
    count()               AS candidates,
    sum(pass)             AS passed,
    sum(pass) / count()   AS pass_rate
FROM eval_candidates FINAL
GROUP BY model_version, eval_id, energy_lo;

-- The verifier's selection per (evaluation, problem) against the truth: the candidate it picks
-- (lowest energy, ties to the smaller candidate_id, as `codeverify eval` picks), whether that
-- candidate passes, whether any drawn candidate passes (the best any selector can do) and the share
-- that pass (what a random pick achieves).
CREATE VIEW IF NOT EXISTS verifier_selections AS
SELECT
    model_version, eval_id, scope, n, seed, problem_id,
    count()                                      AS candidates,
    argMin(candidate_id, (energy, candidate_id)) AS chosen,
    min(energy)                                  AS chosen_energy,
    argMin(pass, (energy, candidate_id))         AS chosen_pass,
    max(pass)                                    AS any_pass,
    avg(pass)                                    AS random_pass
FROM eval_candidates FINAL
GROUP BY model_version, eval_id, scope, n, seed, problem_id;
