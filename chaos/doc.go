// Package chaos holds only tests: the whole pipeline (codeverify broker, execute, sink, a real
// ClickHouse) run as separate processes over real samples while faults are injected — kill -9 of
// an executor replica, of the sink and of the broker, ClickHouse stopped and restarted, poison
// messages — and the verdicts stored must equal those of a clean run, candidate by candidate, with
// every bad event in a dead-letter topic with its reason. See docs/failure-modes.md.
package chaos
