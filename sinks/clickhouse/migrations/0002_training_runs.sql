-- One row per training run of the verifier (a registered version, or one fold of a
-- cross-validation), with its end-of-training metrics on the validation problems. Re-writing a run
-- (a retried insert) is collapsed by ReplacingMergeTree on (version, fold); reads use FINAL.
-- NaN marks a metric with nothing to measure (e.g. no validation problem with both labels).
CREATE TABLE IF NOT EXISTS training_runs
(
    version             String,
    kind                String,
    fold                Int32,
    folds               Int32,
    dataset_hash        String,
    code_revision       String,
    device              String,
    amp                 String,
    torch               String,
    params              Int64,
    epochs_run          Int32,
    best_epoch          Int32,
    steps               Int32,
    train_seconds       Float64,
    train_pairs         Int64,
    val_problems        Int32,
    val_examples        Int32,
    pairwise_accuracy   Float64,
    auroc               Float64,
    reranked_pass1      Float64,
    random_pass1        Float64,
    oracle_pass         Float64,
    k                   Int32,
    verifier_pass1_at_k Float64,
    oracle_pass_at_k    Float64,
    parity_max_abs_diff Float64,
    created_at_ms       UInt64,
    created_at          DateTime
)
ENGINE = ReplacingMergeTree(created_at_ms)
ORDER BY (version, fold)
