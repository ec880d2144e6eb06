// Package pipeline runs codeverify's stages against Kafka: the executor processor, the LLM
// generator and test generator, the ClickHouse sink, the reranker's Kafka side (its consumers, the
// join that holds their commits until a selection is published, model hot reload) and its HTTP
// API, the tables the stages look problems and tests up in, the publishing of problems, samples,
// tests, prompts and synthetic candidates, the dead-letter tools and the demo that runs them all once. Each stage takes a *config.Env and its options and
// runs until its context ends; the processors it wires are pure logic from processors/.
package pipeline
