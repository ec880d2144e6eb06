-- One row per candidate run against its problem's generated tests (model output, not the hidden
-- tests). Like verdicts, delivery is at-least-once: ReplacingMergeTree keyed by candidate_id
-- collapses redeliveries, keeping the highest executed_at_ms; every read must use FINAL. No PARTITION
-- BY, for the same reason as verdicts.
-- Per-test results are parallel arrays (element i of each is generated test i), not Nested: Nested
-- is flattened differently depending on server version and settings, plain arrays are not. Status
-- is a String for the same reason failure_kind is: the sink checks it against the known statuses
-- before writing, and a newer status then needs no ALTER. Plain types only: 18.16 and 24.x+.
CREATE TABLE IF NOT EXISTS behaviors
(
    candidate_id     String,
    request_id       String,
    problem_id       String,
    benchmark        String,
    split            String,
    model            String,
    sample_index     Int32,
    tests_hash       String,
    test_id          Array(String),
    test_frequency   Array(Int32),
    test_status      Array(String),
    test_fingerprint Array(String),
    runtime_ms       Float64,
    executor_version String,
    executed_at_ms   UInt64,
    executed_at      DateTime
)
ENGINE = ReplacingMergeTree(executed_at_ms)
ORDER BY candidate_id
