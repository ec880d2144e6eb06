# codeverify — the two commands: `make demo` and `make test`. Both set up what they need themselves
# (apt packages, a local ClickHouse server under ./var; the embedded Kafka broker runs in-process).
SHELL    := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO       ?= go
VAR      ?= $(CURDIR)/var
DATA_DIR ?= $(abspath $(CURDIR)/../shared/data)
BIN      := bin/codeverify
# Verifier training steps at the end of the demo (the behaviour-feature recipe; ~40 ms a step here); 0 skips training.
TRAIN_STEPS ?= 600

.PHONY: demo test setup clickhouse ort build bench bench-compare vet clean stop verifier

setup:
	@bash deploy/setup-debian.sh

clickhouse: setup
	@bash deploy/clickhouse/start-local.sh $(VAR)/clickhouse

ort:
	@bash deploy/ort/setup-ort.sh $(VAR)/ort/libonnxruntime.so.1.29.0 >/dev/null

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/codeverify # auto: --version names the git revision (GOFLAGS may say false)

demo: clickhouse ort build
	CODEVERIFY_ORT_LIB=$(VAR)/ort/libonnxruntime.so.1.29.0 ./$(BIN) demo --data-dir $(DATA_DIR) --var-dir $(VAR) --train-steps $(TRAIN_STEPS)

test: clickhouse ort
	$(GO) vet ./...
	CODEVERIFY_REQUIRE_CLICKHOUSE=1 CODEVERIFY_REQUIRE_ORT=1 CODEVERIFY_REQUIRE_CHROMIUM=1 CODEVERIFY_ORT_LIB=$(VAR)/ort/libonnxruntime.so.1.29.0 CODEVERIFY_DATA_DIR=$(DATA_DIR) $(GO) test -count=1 -timeout 40m ./...

# The production verifier, on CPU (≤ 15 min on 2 cores): trained on everything `make demo` left on the
# embedded broker (VAR/kafka), registered under VAR/models; its directory is the last line printed.
# The recipe chosen by cross-validation (trainer/experiments/behaviour-features): each 100-candidate request as 20 draws of 16 (what the
# reranker serves), a linear energy on the standardised behaviour features (no token branch), margin
# ranking averaged per draw, L2 1e-4, Adam lr 0.01, 600 full-batch steps. The tokens + features
# model: VERIFIER_FLAGS='--no-text=false --feature-hidden 32 --objective pairs --text-dropout 0.5
# --max-len 192 --d-model 32 --layers 1 --heads 2 --ff 64 --epochs 2 --batch-size 32 --max-steps 240 --lr 1e-3'.
VERIFIER_FLAGS ?= --no-text --feature-hidden 0 --objective request --l2 1e-4 --lr 0.01 --max-steps 600 --batch-size 0
verifier: clickhouse build
	./$(BIN) train --var-dir $(VAR) --device cpu --threads 2 --draw-size 16 --draws 20 $(VERIFIER_FLAGS)

bench: clickhouse
	CODEVERIFY_DATA_DIR=$(DATA_DIR) $(GO) test -run '^$$' -bench . -benchtime 3s ./processors/executor/ ./sinks/clickhouse/ ./streams/

# The same benchmarks, BASE (a git revision) against the working tree, alternately: make bench-compare BASE=rev
bench-compare: clickhouse
	CODEVERIFY_DATA_DIR=$(DATA_DIR) bash bench/compare.sh $(BASE) $(or $(ROUNDS),6)

stop:
	@bash deploy/clickhouse/stop-local.sh $(VAR)/clickhouse

clean: stop
	rm -rf $(VAR) bin
