-- One row per candidate scored by `codeverify eval --clickhouse`: the evaluation that drew it, its
-- draw position, its execution label and its energy under the model version. eval_id is derived
-- from the model version, the input's content hash, the scope (holdout fold, splits), n and the
-- seed, so a rerun of the same evaluation writes the same keys and ReplacingMergeTree collapses them
-- (the newest created_at wins); reads use FINAL. input_hash groups the evaluations of one input so
-- several model versions compare side by side. Plain types only: this runs on 18.16 and 24.x+.
CREATE TABLE IF NOT EXISTS eval_candidates
(
    eval_id       String,
    model_version String,
    input_hash    String,
    input_name    String,
    scope         String,
    n             UInt32,
    seed          UInt64,
    problem_id    String,
    candidate_id  String,
    position      UInt32,
    pass          UInt8,
    energy        Float32,
    created_at    DateTime
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (eval_id, problem_id, position)
