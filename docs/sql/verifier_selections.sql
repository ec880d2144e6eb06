-- How often the verifier picks a passing candidate, per evaluation, next to what a random pick
-- and a perfect one would do on the same draw. Reads the verifier_selections view (migration
-- 0006): per problem, the lowest-energy candidate (ties to the smaller candidate_id).
--   clickhouse-client --database codeverify --multiquery < docs/sql/verifier_selections.sql
--
-- Columns: model_version, eval_id, scope, n (candidates drawn per problem), seed; problems;
-- selected_pass (share of problems whose pick passes: the verifier's pass@1); random_pass (mean
-- share of passing candidates: pass@1 of a random pick); oracle_pass (share of problems with any
-- passing candidate: the ceiling); lift (selected_pass - random_pass).
SELECT
    model_version, eval_id, scope, n, seed, problems, selected_pass, random_pass, oracle_pass,
    selected_pass - random_pass AS lift
FROM
(
    SELECT
        model_version, eval_id, scope, n, seed,
        count()          AS problems,
        avg(chosen_pass) AS selected_pass,
        avg(random_pass) AS random_pass,
        avg(any_pass)    AS oracle_pass
    FROM verifier_selections
    GROUP BY model_version, eval_id, scope, n, seed
)
ORDER BY model_version, scope, n, seed, eval_id;
