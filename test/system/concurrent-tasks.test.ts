// Tasks run at once in one process, each leaking a tagged sleeper and a scrubbed double-fork
// (`env -i sh -c "sleep … &"`, unattributable without a cgroup), and every attribution checked
// (issue 33 #4: such leaks appeared in every concurrent task's report). With a cgroup each leak is
// its own task's; without one the scrubbed leak is named as a suspect in one report only, with the
// tasks it could belong to. 8 tasks a round; CONCURRENT_ROUNDS rounds (npm test: 4, alternating
// cgroup auto and off; `npm run soak:library`: 50).
import { afterEach, describe, expect, it } from 'vitest';
import { runTracked, silentLogger, type TaskReport } from '../../src/index.js';
import { concurrentRuns } from '../../src/tracking/concurrent-runs.js';
import { ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

const TASKS = 8;
const ROUNDS = Number(process.env.CONCURRENT_ROUNDS ?? 4);

interface Leaks {
  tagged: number;
  scrubbed: number;
}

/** One task: waits a moment, leaks a tagged and a scrubbed sleeper (printing their pids), waits again. */
async function leakingTask(i: number, round: number, cgroup: 'auto' | 'off'): Promise<{ report: TaskReport; leaks: Leaks }> {
  const delay = (ms: number): string => (ms / 1000).toFixed(2);
  const script = [
    `sleep ${delay((i * 37 + round * 11) % 300)}`,
    `sleep ${400 + i} >/dev/null 2>&1 & echo "tagged $!"`,
    `env -i sh -c 'sleep ${500 + i} >/dev/null 2>&1 & echo "scrubbed $!"'`,
    `sleep ${delay(100 + ((i * 53 + round * 7) % 300))}`,
  ].join('; ');
  let out = '';
  const report = await runTracked('bash', ['-c', script], {
    cgroup,
    logger: silentLogger,
    stdio: ['ignore', 'pipe', 'inherit'],
    onSpawn: (child) => child.stdout!.on('data', (d: Buffer) => (out += d.toString())),
    reap: { graceMs: 300 },
  });
  const tagged = Number(/tagged (\d+)/.exec(out)?.[1]);
  const scrubbed = Number(/scrubbed (\d+)/.exec(out)?.[1]);
  await jar.adopt(scrubbed); // a suspect is never reaped by run: the test ends it
  await jar.adopt(tagged);
  return { report, leaks: { tagged, scrubbed } };
}

describe(`${TASKS} leaking tasks at once, ${ROUNDS} rounds: every attribution checked`, () => {
  for (let round = 0; round < ROUNDS; round++) {
    const cgroup = round % 2 === 0 ? 'auto' : 'off';
    it(`round ${round + 1} (cgroup ${cgroup})`, async () => {
      const runs = await Promise.all(Array.from({ length: TASKS }, (_, i) => leakingTask(i, round, cgroup)));
      const pidsOf = (list: readonly { pid: number }[]): number[] => list.map((p) => p.pid);
      for (const [i, { report, leaks }] of runs.entries()) {
        expect(report.outcome).toBe('exited');
        expect(leaks.tagged).toBeGreaterThan(1);
        expect(leaks.scrubbed).toBeGreaterThan(1);
        // Its tagged leak is its own orphan, by its tag, and was reaped.
        const tagged = report.orphans.find((p) => p.pid === leaks.tagged);
        expect(tagged?.evidence, `task ${i}: its tagged leak`).toContain('tag');
        expect(report.reaped?.find((r) => r.pid === leaks.tagged)?.result).toMatch(/^(terminated|killed)$/);
        // No other task's leak is in its orphans, nor a tagged one in its suspects.
        for (const [j, other] of runs.entries()) {
          if (j === i) continue;
          expect(pidsOf(report.orphans), `task ${i} blamed for task ${j}'s leaks`).not.toContain(other.leaks.tagged);
          expect(pidsOf(report.orphans)).not.toContain(other.leaks.scrubbed);
          expect(pidsOf(report.suspects), `task ${j}'s tagged leak among task ${i}'s suspects`).not.toContain(other.leaks.tagged);
          expect(pidsOf(report.kept)).not.toContain(other.leaks.scrubbed);
        }
      }
      for (const [i, { report, leaks }] of runs.entries()) {
        const own = report.orphans.find((p) => p.pid === leaks.scrubbed);
        if (report.cgroup) {
          // In its own cgroup: its own, whatever it did to its environment.
          expect(own?.evidence, `task ${i}: its scrubbed leak`).toContain('cgroup');
          continue;
        }
        if (own) {
          expect(own.evidence).toContain('lineage'); // seen before its parent exited
          continue;
        }
        // Unattributable: named once, in one report, with the tasks it could belong to (its own among them).
        const naming = runs.filter((r) => r.report.suspects.some((p) => p.pid === leaks.scrubbed));
        expect(naming, `task ${i}'s scrubbed leak is named in ${naming.length} reports`).toHaveLength(1);
        const named = naming[0]!.report.suspects.find((p) => p.pid === leaks.scrubbed)!;
        expect(named.evidence).toEqual(['heuristic']);
        expect(named.couldBelongTo).toContain(report.tag);
        expect(named.couldBelongTo?.length).toBeLessThanOrEqual(TASKS);
      }
      // Nothing is remembered once every run is over.
      expect(concurrentRuns.size()).toEqual({ runs: 0, named: 0 });
    });
  }
});
