-- The selection methods evaluated beside the verifier on the same drawn candidates: codet_pool marks
-- the candidates of CodeT's best dual-agreement groups (its pass@1 is their pass rate) and has_codet
-- says the evaluation ran generated tests at all; code_energy is the code-only model's energy and
-- has_code_energy says one ran. Rows written before this migration read as neither having run.
ALTER TABLE eval_candidates
    ADD COLUMN has_codet UInt8 DEFAULT 0,
    ADD COLUMN codet_pool UInt8 DEFAULT 0,
    ADD COLUMN has_code_energy UInt8 DEFAULT 0,
    ADD COLUMN code_energy Float32 DEFAULT 0;
