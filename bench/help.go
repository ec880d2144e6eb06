package bench

// The long help of each benchmark's command: what it runs and what its last line says.

// ExecutorHelp describes Executor (codeverify bench executor).
const ExecutorHelp = `Runs MBPP reference solutions (problems whose reference takes over 100 ms are left out, and
said so) through the zygote backend with calibrated per-problem timeouts, every candidate executed
(no cache): once as they are, once with a share of them turned into infinite loops. Then the naive
baseline (backend simple: a fresh python3 per candidate, same tests) in the same run.
A reference labelled wrong under load (a tight calibrated limit while other work shares the
cores) is re-run alone; only what is still wrong then counts, and makes the command fail after
the last line. Last line: candidates/s: N  naive: M  ratio: R (N is the run without loops).
--soak D instead runs D of continuous mixed load and checks processes, fds and RSS do not grow.
--dual instead runs the real CodeGen-16B HumanEval samples against their hidden tests alone
(baseline), then with their generated tests too (--dual-tests per problem, the most frequent of
CodeT's extraction); last line: candidates/s: N  tests/s: M (of the dual run).`

// GeneratorHelp describes Generator (codeverify bench generator).
const GeneratorHelp = `Publishes --prompts prompts of --n samples to an embedded broker, runs the generator processor
(prompts → candidates) against an in-process fake OpenAI-compatible server, and reports completions
per second with the peak samples in flight at the server. The fake's own ceiling is measured first
in the same run (plain HTTP clients at the same concurrency, responses read and discarded).
Last line: "completions/s: N  in-flight: M".`

// RerankerHelp describes Reranker (codeverify bench reranker).
const RerankerHelp = `Scores --iters batches of --batch candidates of exactly --len tokens with the model in --model
(a registry version or registry directory), or, without --model, with an untrained model of the
trainer's default architecture (2 layers, d_model 128, max length 512) exported by python3 + torch.
CUDA is tried first and CPU is the fallback; the provider in force is printed. A single-candidate
batch is timed in the same run as the baseline.
Last line: "ms/batch: N  provider: cuda|cpu" (N the median).`
