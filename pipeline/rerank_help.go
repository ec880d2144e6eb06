package pipeline

import "github.com/codeverify/codeverify/streams"

// RerankRunHelp is what rerank run does, for its --help: the topics and groups it reads and
// writes, when a request is scored, and how new model versions are swapped in.
const RerankRunHelp = `Consumes candidates (consumer group ` + streams.GroupRerankerCandidates + `), their behaviours on the generated tests (topic
"` + streams.TopicBehaviors + `", group ` + streams.GroupRerankerBehaviors + `) and prompts (group ` + streams.GroupRerankerPrompts + `, for how many candidates
each request expects). A request is scored once all its candidates are in and, for a model that reads
behaviour features, all their behaviours; its features are computed over its candidates (the same
function the training export uses), and its candidates are scored in batches across the requests
ready together. It writes one Score per candidate to "` + streams.TopicScores + `" and one Selection per request (min
energy, ties to the smaller candidate id) to "` + streams.TopicSelections + `". A request that is not ready within
--bound is scored among the candidates present (a candidate without a behaviour gets the features of
"no tests") and marked partial. Every Score and Selection carries the model version. A candidate and
a behaviour are committed only after their request's Selection (and the candidate's Score) were
acknowledged, so a crash re-scores, never loses.

Hot reload, with --model a registry directory (its newest version serves at start):
  --models-topic (default on) follows the "` + streams.TopicModels + `" topic that train announces each version on,
    from its last announcement on (so one made while the reranker was down is seen at start), with
    its own reader (no consumer group). An announced version is loaded from the event's path, or
    from <registry>/<version> when that path is not on this host, after its model file's sha256
    is checked against the announcement.
  --reload-every polls the registry directory (0: never).
Either way a version is swapped in only when it is newer (created later) than the one serving: new
requests get it, requests under way finish on theirs, so no candidate is scored twice or by a mix.
A version that cannot be used (undecodable event, missing files, checksum mismatch, load failure)
is logged with the reason and counted (codeverify_reranker_model_events_rejected_total,
codeverify_reranker_model_swap_failures_total); the old one keeps serving. With --model a version
directory, that version serves and nothing reloads.`
