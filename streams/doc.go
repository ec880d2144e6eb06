// Package streams moves codeverify's events through Kafka: the in-process broker, the declared topology
// (topics, consumer groups, stages) and its topic catalog, typed producers, the processor runner
// (fetch → decode → process → produce → commit, with a dead-letter topic), a batch consumer for
// sinks, in-memory tables and whole-topic reads. It is the only package that imports a Kafka client.
//
// # Delivery by the Runner
//
// A Runner is a member of a consumer group. Each generation of the group hands it a set of input
// partitions with the offsets to start from (the group's committed offsets); it reads each of them
// in offset order from there. Inputs are processed concurrently and may finish in any order.
//
// What is committed, when: after a batch of finished inputs has had all its outputs and dead
// letters acknowledged by the broker (acks=all), the runner commits, per partition, the offset
// after the last input below which every input is finished and written. An input still being
// processed (or abandoned at shutdown) holds back the commits of its own partition, never of others,
// and no commit passes it. Commits carry the generation's id, and none is sent once the generation
// ended; the broker refuses one that arrives late.
//
// A Processor returns its outputs from Process. An AsyncProcessor (NewAsyncRunner) returns at once
// from Start and calls back later, e.g. when a join has seen the other events its input waits for;
// its inputs then wait as callbacks, not as goroutines, and are written and committed like any
// other once the callback ran. MaxInFlight bounds how many wait.
//
// On revocation (a rebalance, or this member judged dead): fetching stops, inputs not yet committed
// are dropped — neither written nor committed — and their processing is cancelled through its
// context. The partition's next owner starts at the last commit, so those inputs are processed
// again. Outputs written but not yet committed are written again too.
//
// So delivery is at-least-once: after a crash, a rebalance or an exceeded DrainTimeout an input may
// be processed and its outputs written more than once, and never lost. Processors, output keys and
// downstream sinks must be idempotent (ids derived from content).
//
// On graceful shutdown (ctx cancelled) the runner stops fetching, lets in-flight inputs finish for
// up to DrainTimeout, writes and commits them, and leaves the group so its partitions move at once.
// A killed runner's partitions move after SessionTimeout.
//
// Undeliverable inputs — oversized, undecodable, rejected by Validate, or failed with a Permanent
// error or a panic — go to the input's dead-letter topic (DLQTopic) and are committed like any
// other. A dead letter is sized to fit its topic: a long value is cut, with its size and SHA-256 in
// headers. An output that can never be written (too large for its topic even alone) is replaced by
// a dead letter of its input that names it. Other failures (broker down, transient Process errors)
// are retried with backoff until they succeed or the runner stops; none is retried forever once it
// is known to be permanent.
//
// # Delivery by RunBatches
//
// RunBatches, the sinks' batch consumer, is a group member on the same machinery (group.go): each
// generation's partitions are read from their committed offsets, a batch is committed with the
// generation's id only after its dead letters and then its events were stored, and never once the
// generation ended. Events Validate rejects, and those the write names as Rejected (or isolates
// by halving a batch it fails with a Permanent error), are dead-lettered and committed; any other
// write error is retried. Delivery is at-least-once, dead letters included.
package streams
