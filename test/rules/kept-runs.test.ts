// What carries the tag of a run that kept something, born after that run judged (rules/kept-runs.ts):
// a table of the shapes — a kept launcher's daemon that double-forked away, the run's own leaks
// judged before, their later children, a run that kept nothing — and properties over generated
// tables: what may be a kept process's is never a certain leak, and the gate refuses it unless a
// person names it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_AGENTS } from '../../src/rules/agents.js';
import { ownProcesses, refusalOf, type GateView } from '../../src/rules/gate.js';
import { byPid, identityKey, parentOf } from '../../src/rules/identity.js';
import { keptPids } from '../../src/rules/keep.js';
import { bornAfterJudging, bornAfterKeeping, START_TIME_SLACK_MS, type KeptRun } from '../../src/rules/kept-runs.js';
import { judgeLiveness } from '../../src/rules/liveness.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import { processTree } from '../../src/rules/tree.js';
import { formatTaskTag, parseTaskTag } from '../../src/tracking/task-tag.js';
import type { ProcessInfo } from '../../src/types.js';
import { proc, snap } from '../helpers/snapshots.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261129 });

const init = proc(1, 0, '/sbin/init');
const tag = formatTaskTag({ pid: 999, startTime: 5 }, 'aa'); // its run is over (999 is not in the tables)
const otherTag = formatTaskTag({ pid: 998, startTime: 5 }, 'bb'); // a run that kept nothing
const JUDGED_AT = 100_000;
const run: KeptRun = {
  tag,
  judgedAt: JUDGED_AT,
  judged: new Set(['60:99500']), // a leak born just before the run judged: its start time cannot tell
  kept: [
    { pid: 40, identity: '40:90000', command: 'my-launcher -c sleep 2', reason: 'pattern' },
    { pid: 41, identity: '41:90100', command: 'sleep 2', reason: 'below a kept process' },
  ],
};
const options = { ageSeconds: () => 60, parseTag: parseTaskTag };

function judged(processes: ProcessInfo[], runs: readonly KeptRun[]): { bornAfter: Map<number, string>; view: GateView } {
  const live = byPid(processes);
  const tree = processTree(processes);
  const kept = keptPids(tree, processes);
  const bornAfter = bornAfterKeeping(tree, live, runs, kept);
  const liveness = judgeLiveness({ processes, agents: BUILT_IN_AGENTS });
  return { bornAfter, view: { live, tree, liveness, kept, bornAfterKept: bornAfter, own: ownProcesses(tree, live) } };
}

describe('born after a run that kept something judged (table)', () => {
  const launcher = proc(40, 1, 'my-launcher -c sleep 2', { taskTag: tag, startTime: 90_000, keepReason: 'pattern' });
  const oldLeak = proc(50, 1, 'node mcp-server.js', { taskTag: tag, startTime: 95_000 });
  const lastLeak = proc(60, 1, 'sleep 300', { taskTag: tag, startTime: 99_500 });
  const leakChild = proc(61, 50, 'node worker.js', { taskTag: tag, startTime: 120_000 }); // forked later, below a leak it judged
  const daemon = proc(70, 1, 'sleep 4712', { taskTag: tag, startTime: 102_000 }); // setsid -f: re-parented
  const daemonChild = proc(71, 70, 'sleep 4713', { startTime: 103_000 }); // scrubbed its environment
  const launcherChild = proc(42, 40, 'sleep 300', { taskTag: tag, startTime: 104_000 }); // below the kept launcher
  const elsewhere = proc(80, 1, 'sleep 99', { taskTag: otherTag, startTime: 110_000 }); // a run that kept nothing
  const inWindow = proc(90, 1, 'sleep 98', { taskTag: tag, startTime: 99_000 }); // within the slack, not judged: born after
  const all = [init, launcher, oldLeak, lastLeak, leakChild, daemon, daemonChild, launcherChild, elsewhere, inWindow];

  it('names the daemon and what runs below it, with why; not the leaks the run judged, their children, what is kept, or another run\'s', () => {
    const { bornAfter } = judged(all, [run]);
    const why = "born after its run ended, which kept pid 40 (my-launcher -c sleep 2): it may be the kept process's";
    expect(Object.fromEntries(bornAfter)).toEqual({ 70: why, 71: `below pid 70, ${why}`, 90: why });
    expect(bornAfterJudging(lastLeak, run)).toBe(false); // judged
    expect(bornAfterJudging(oldLeak, run)).toBe(false); // older than the slack
    expect(bornAfterJudging(proc(91, 1, 'x', { taskTag: tag, startTime: JUDGED_AT - START_TIME_SLACK_MS - 1 }), run)).toBe(false);
  });

  it('scan: the leaks stay certain, the daemon is a suspect with why; the gate refuses it unless a person names it', () => {
    const { bornAfter, view } = judged(all, [run]);
    const scan = analyzeMachine(snap(all), { ...options, kept: view.kept, bornAfterKept: bornAfter });
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid)).sort()).toEqual([50, 60, 61, 80]);
    const tree = scan.suspected.find((g) => g.root.pid === 70)!;
    expect(tree.processes.map((p) => [p.pid, p.suspectBecause])).toEqual([[70, bornAfter.get(70)], [71, bornAfter.get(71)]]);
    expect(refusalOf(70, view)).toEqual({ result: 'kept', reason: bornAfter.get(70) });
    expect(refusalOf(71, view)?.result).toBe('kept');
    expect(refusalOf(70, view, { named: true })).toBeUndefined();
    expect(refusalOf(70, view, { ownGroup: true })).toBeUndefined(); // the run's own group, after what it kept left it
    for (const pid of [50, 60, 61, 80]) expect(refusalOf(pid, view)).toBeUndefined();
  });

  it('a run that kept nothing (no record): what its tag carries, born whenever, is certain', () => {
    const { bornAfter } = judged(all, []);
    expect(bornAfter.size).toBe(0);
    expect(analyzeMachine(snap(all), { ...options, bornAfterKept: bornAfter }).certain.flatMap((g) => g.processes.map((p) => p.pid))).toContain(70);
  });
});

describe('born after a run that kept something judged (properties)', () => {
  const table = fc
    .array(
      fc.record({
        parent: fc.nat(),
        reparented: fc.boolean(),
        tag: fc.constantFrom(tag, tag, otherTag, undefined),
        keep: fc.nat(9),
        judged: fc.boolean(),
        born: fc.integer({ min: 90_000, max: 110_000 }),
      }),
      { minLength: 1, maxLength: 14 },
    )
    .map((rows) => {
      let startTime = 0;
      const processes: ProcessInfo[] = [init];
      for (const [i, r] of rows.entries()) {
        startTime = Math.max(startTime + 10, r.born); // a child starts after its parent
        const ppid = i === 0 || r.reparented ? 1 : processes[1 + (r.parent % i)]!.pid;
        processes.push(proc(100 + i, ppid, `p${i}`, { startTime, ...(r.tag ? { taskTag: r.tag } : {}), ...(r.keep === 0 ? { keepReason: 'pattern' as const } : {}) }));
      }
      const judgedIds = new Set(processes.filter((p, i) => i > 0 && rows[i - 1]!.judged && p.startTime < JUDGED_AT).map((p) => identityKey(p)));
      const keptRun: KeptRun = { ...run, judged: judgedIds };
      return { processes, keptRun };
    });

  it('what may be a kept process\'s is never certain, is refused unless named, and is exactly what carries the tag born after with no judged ancestor of the run (or runs below such)', () => {
    fc.assert(
      fc.property(table, ({ processes, keptRun }) => {
        const { bornAfter, view } = judged(processes, [keptRun]);
        const certain = new Set(analyzeMachine(snap(processes), { ...options, kept: view.kept, bornAfterKept: bornAfter }).certain.flatMap((g) => g.processes.map((p) => p.pid)));
        const live = byPid(processes);
        const judgedAncestor = (p: ProcessInfo): boolean => {
          for (let q = parentOf(p, live); q; q = parentOf(q, live)) if (q.taskTag === tag && !bornAfterJudging(q, keptRun)) return true;
          return false;
        };
        for (const p of processes) {
          const listed = bornAfter.has(p.pid);
          if (listed) {
            expect(certain.has(p.pid)).toBe(false);
            expect(view.kept.has(p.pid)).toBe(false);
            expect(refusalOf(p.pid, view)?.result).toBe('kept');
            expect(refusalOf(p.pid, view, { named: true })).toBeUndefined();
          }
          const own = p.taskTag === tag && !view.kept.has(p.pid) && bornAfterJudging(p, keptRun) && !judgedAncestor(p);
          if (own) expect(listed).toBe(true);
          // Listed on its own account, or below one that is.
          if (listed && !own) expect(bornAfter.get(p.pid)).toMatch(/^below pid \d+, born after/);
          // Another run's tag (that run kept nothing) or a process the run judged: never listed on its own account.
          if (p.taskTag === otherTag || keptRun.judged.has(identityKey(p))) expect(own).toBe(false);
        }
      }),
      RUNS,
    );
  });
});

describe('a run of another PID namespace that kept something (a container sharing the home)', () => {
  it('every process carrying its tag here may be what it kept: never certain, refused unless named, said why', () => {
    const elsewhere: KeptRun = { tag, judgedAt: -Infinity, judged: new Set(), kept: [{ pid: 14, identity: '14:90000', command: 'sleep 4716', reason: 'pattern' }], elsewhere: '4026532311' };
    const kept = proc(24, 1, 'sleep 4716', { taskTag: tag, startTime: 90_000 }); // pid 14 there, 24 here
    const leak = proc(25, 1, 'node dev-server.js', { taskTag: tag, startTime: 80_000 });
    const child = proc(26, 25, 'sleep 1', { startTime: 81_000 });
    const processes = [init, kept, leak, child];
    const { bornAfter, view } = judged(processes, [elsewhere]);
    expect([...bornAfter.keys()].sort()).toEqual([24, 25, 26]);
    expect(bornAfter.get(24)).toBe('its run, in PID namespace 4026532311, which kept pid 14 (sleep 4716) there: which processes it kept cannot be told here');
    expect(bornAfter.get(26)).toMatch(/^below pid 25, its run, in PID namespace/);
    for (const pid of [24, 25, 26]) {
      expect(refusalOf(pid, view)?.result).toBe('kept');
      expect(refusalOf(pid, view, { named: true })).toBeUndefined();
    }
    const scan = analyzeMachine(snap(processes), { ...options, agents: BUILT_IN_AGENTS, liveness: view.liveness, bornAfterKept: bornAfter });
    expect(scan.certain).toEqual([]);
  });
});
