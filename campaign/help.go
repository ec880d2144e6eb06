package campaign

// Help documents the campaign command: targets, budget, backpressure and resuming.
const Help = `Publishes rounds of generation prompts for the chosen problems (--problems, --split, as
produce-prompts) until every problem has its target:
  --samples N   N candidates per problem, exactly (counted by candidate id), or
  --pass K      K distinct programs that PASS per problem (distinct by the SHA-256 of the code;
                the same program drawn twice counts once).
Each round asks each problem that still needs more for min(--round-size, what is missing) samples,
in one prompt with request id campaign/NAME/ROUND/PROBLEM and a seed derived from (NAME, ROUND,
PROBLEM): a rerun draws the same samples and a republished prompt is the same request. A round asks
only the problems ready for more: with --pass a problem is asked again only once its previous samples
have verdicts.

Budget (0 = none): --max-tokens caps the completion tokens of the campaign's candidates (a round is
cut so that the tokens used plus --sample-max-tokens for every pending sample stay within it),
--max-requests the prompts, --max-rounds the rounds each problem is asked in, --max-duration the
time since the campaign's first prompt. A spent budget ends the campaign with an error naming it;
a problem whose prompts the generator dead-lettered 3 times is given up.

Backpressure: a round is published only while the generator's lag on prompts and the executor's lag
on candidates are both below --max-lag, so the campaign runs at the pace of the pipeline
(codeverify generate and codeverify execute must be running).

Resume: nothing is kept outside Kafka. On start the campaign reads its prompts, their candidates,
verdicts and dead letters back from the topics and continues from there, so a campaign killed at any
moment is resumed by running the same command again. Run one process per campaign name.
'codeverify campaign status NAME' prints each problem's progress from the same topics.`
