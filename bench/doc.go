// Package bench holds codeverify's benchmarks: the executor's throughput (with a naive baseline,
// a soak run and dual execution), the generator processor's against an in-process fake server, and
// the verifier's scoring latency through ONNX Runtime. Each prints the machine, its figures and a
// baseline measured in the same run, and ends on one line a script can parse.
package bench
