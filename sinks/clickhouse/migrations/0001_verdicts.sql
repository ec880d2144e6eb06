-- One row per executed candidate. Delivery is at-least-once, so the same verdict can arrive more
-- than once: ReplacingMergeTree keyed by candidate_id collapses redeliveries, keeping the row with
-- the highest executed_at_ms (a re-execution replaces an older label). Merges are asynchronous, so
-- every read must use FINAL. No PARTITION BY: duplicates are only collapsed within one partition,
-- and a time-based partition would split a candidate's rows when it is re-executed later.
-- Plain types only (no LowCardinality, DateTime64, Map, Bool): this must run on 18.16 and 24.x+.
CREATE TABLE IF NOT EXISTS verdicts
(
    candidate_id     String,
    request_id       String,
    problem_id       String,
    benchmark        String,
    split            String,
    model            String,
    sample_index     Int32,
    label            Enum8('FAIL' = 0, 'PASS' = 1),
    -- String, not Enum8: a new kind from a newer executor must not fail the whole batch insert.
    failure_kind     String,
    detail           String,
    -- Per-test outcomes as parallel arrays (element i of each array is test i).
    test_index       Array(Int32),
    test_passed      Array(UInt8),
    test_kind        Array(String),
    test_message     Array(String),
    runtime_ms       Float64,
    executor_version String,
    test_suite_hash  String,
    code_sha256      String,
    executed_at_ms   UInt64,
    executed_at      DateTime
)
ENGINE = ReplacingMergeTree(executed_at_ms)
ORDER BY candidate_id
