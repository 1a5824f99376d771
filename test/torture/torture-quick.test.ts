// The torture suite's quick mode (about a minute): the worlds of fixed seeds that together exercise
// every building block of the generator (plan.ts featuresOf) — sessions live, ended, SIGKILLed and
// resumed; tmux on a shared socket, screen, dtach, nohup, setsid, double forks, retitles, title
// rewrites; pipelines; keep markers and patterns at the start, the middle and past the limits; a
// person's and another user's processes — each run through the real CLI's paths in a PID namespace
// of its own. Any wrong kill fails it, printed with the seed that replays it (`npm run torture --
// --seed N`). The long mode is `npm run torture -- --minutes 30`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featuresOf, generatePlan } from './plan.js';
import { prepare, runWorld, whyNot, type Setup } from './orchestrator.js';
import { formatCase, type CaseResult } from './report.js';

/** Chosen so that together they exercise every feature of the generator (checked below), fewest steps first. */
const COVERING = [510, 2091, 632, 2552, 1844, 1633, 2228, 667];
/**
 * Small worlds of the wrong kills issue 32 lists: a shared tmux server (an ended session's, with a
 * live session's job and a person's session on it, the follower reaping), a kept title rewriter
 * (perl `$0=`) under run --reap, a keep pattern past 4 KiB, a keep marker past 1 MiB, a kept
 * `server | tee` under a run and under the follower, a run's `--keep` judged by a later watch, a
 * leak that forks a cleanup child while it is reaped.
 */
const ISSUE_32 = [23733, 5713, 11062, 9409, 4150, 15424, 6663, 3306];
export const QUICK_SEEDS = [...COVERING, ...ISSUE_32];

const why = whyNot();
let setup: Setup | undefined;
const results: CaseResult[] = [];

describe.skipIf(why !== undefined)(`torture, quick mode${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    setup = await prepare();
  }, 60_000);
  afterAll(() => setup?.cleanup());

  it('the quick seeds exercise every building block this machine has', () => {
    const all = new Set<string>();
    for (let seed = 1; seed <= 3000; seed++) for (const f of featuresOf(generatePlan(seed, setup!.available))) all.add(f);
    const covered = new Set(COVERING.flatMap((seed) => [...featuresOf(generatePlan(seed, setup!.available))]));
    expect([...all].filter((f) => !covered.has(f)), 'features no quick seed exercises: pick seeds that do').toEqual([]);
  });

  it.each(QUICK_SEEDS)('seed %i: nothing live, kept, a person\'s, another user\'s or rtrack\'s own is signalled', async (seed) => {
    const result = await runWorld(setup!, generatePlan(seed, setup!.available));
    results.push(result);
    const text = formatCase(result, false).join('\n');
    console.log(text);
    expect(result.error, text).toBeUndefined();
    expect(result.wrong.length, text).toBe(0);
  }, 120_000);
});
