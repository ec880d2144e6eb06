// Package testkit holds the fixtures that the tests of several packages share: the benchmark data,
// a log buffer a test reads while a stage writes to it, a verdict ready for the sink, a tiny
// reranker model, free local ports and an HTTP GET. Only tests import it; the embedded broker and a ClickHouse test
// database have helpers of their own (streams/kafkatest, sinks/clickhouse/chtest).
package testkit
