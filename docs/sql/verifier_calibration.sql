-- Is the verifier calibrated? Per model version, over all its evaluations (`codeverify eval
-- --clickhouse`), the drawn candidates grouped by energy in buckets 0.5 wide, with the share that
-- really pass the hidden tests. A useful verifier's pass rate falls as the energy rises. Reads the
-- verifier_calibration view (migration 0006); filter on eval_id there for one evaluation.
--   clickhouse-client --database codeverify --multiquery < docs/sql/verifier_calibration.sql
--
-- Columns: model_version; energy_lo (the bucket is [energy_lo, energy_lo + 0.5)); evals (its
-- evaluations with a candidate in the bucket); candidates; passed; pass_rate (passed / candidates).
SELECT model_version, energy_lo, evals, candidates, passed, passed / candidates AS pass_rate
FROM
(
    SELECT
        model_version, energy_lo,
        uniqExact(eval_id) AS evals,
        sum(candidates)    AS candidates,
        sum(passed)        AS passed
    FROM verifier_calibration
    GROUP BY model_version, energy_lo
)
ORDER BY model_version, energy_lo;
