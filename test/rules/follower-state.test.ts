// The rules for the follower's state on disk: whose state directory is trusted, which records are of
// this boot, what of a lineage is kept, and the journal's lines merged. Tables and properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundLineage, mergeJournal, recordBoot, stateDirectoryProblem } from '../../src/rules/follower-state.js';
import type { LineageRecord } from '../../src/types.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261126 });

describe('stateDirectoryProblem', () => {
  const dir = (uid: number, mode: number, isDirectory = true) => ({ path: '/h/.local/state/rtrack', isDirectory, uid, mode: (isDirectory ? 0o040000 : 0o100000) | mode });
  it.each([
    ['yours, 0700', dir(1000, 0o700), undefined],
    ['yours, 0755', dir(1000, 0o755), undefined],
    ["root's, 0755 (as ssh allows)", dir(0, 0o755), undefined],
    ["someone else's", dir(1001, 0o700), 'is owned by uid 1001, not by you (uid 1000)'],
    ['group-writable', dir(1000, 0o770), 'is writable by its group (mode 0770)'],
    ['world-writable with the sticky bit (/tmp)', dir(0, 0o1777), 'is writable by its group and others (mode 1777)'],
    ['others-writable', dir(1000, 0o702), 'is writable by others (mode 0702)'],
    ['a file', dir(1000, 0o600, false), 'is not a directory'],
  ])('%s', (_, stat, problem) => {
    const verdict = stateDirectoryProblem(stat, 1000);
    if (problem === undefined) expect(verdict).toBeUndefined();
    else expect(verdict).toBe(`/h/.local/state/rtrack ${problem}`);
  });
});

describe('recordBoot', () => {
  const boot = { id: 'b-now', startedAtMs: Date.parse('2026-11-29T08:00:00Z') };
  it.each([
    ['the same boot id', { bootId: 'b-now', startedAt: '2026-01-01T00:00:00Z' }, boot, 'this'],
    ['another boot id, even written after this boot began', { bootId: 'b-old', startedAt: '2026-11-29T09:00:00Z' }, boot, 'another'],
    ['no boot id, written before this boot began', { startedAt: '2026-11-29T07:59:59Z' }, boot, 'another'],
    ['no boot id, written since', { startedAt: '2026-11-29T08:00:01Z' }, boot, 'this'],
    ['a boot id, where this platform has none to compare', { bootId: 'b-old', startedAt: '2026-11-29T07:00:00Z' }, { startedAtMs: boot.startedAtMs }, 'this'],
    ['nothing to tell by', { startedAt: 'not a time' }, {}, 'this'],
  ] as const)('%s', (_, record, info, verdict) => {
    expect(recordBoot(record, info)).toBe(verdict);
  });
});

describe('boundLineage', () => {
  const e = (pid: number, ppid: number, startTime: number): LineageRecord => ({ pid, ppid, startTime });
  it('keeps the live, and the dead only above a live one; drops a dead subtree whole', () => {
    const shell = e(10, 1, 100); // dead: its server below lives
    const server = e(11, 10, 101);
    const test = e(12, 1, 102); // dead, and its workers too
    const workers = [e(13, 12, 103), e(14, 12, 104)];
    const reused = e(10, 1, 200); // pid 10 again, later: not the server's parent
    const live = new Set([server, reused]);
    const { kept, droppedAlive } = boundLineage([shell, server, test, ...workers, reused], (x) => live.has(x), 100);
    expect(kept).toEqual([shell, server, reused]);
    expect(droppedAlive).toBe(0);
  });

  it('one that cannot be read may be alive: kept, with its ancestors', () => {
    const { kept } = boundLineage([e(10, 1, 100), e(11, 10, 101)], (x) => (x.pid === 11 ? undefined : false), 100);
    expect(kept.map((x) => x.pid)).toEqual([10, 11]);
  });

  it('over the cap: the oldest dead go first, then the oldest live', () => {
    const a = e(10, 1, 100);
    const b = e(11, 10, 101);
    const c = e(12, 1, 102);
    const d = e(13, 1, 103);
    // a is dead above live b; c, d live
    const alive = (x: LineageRecord): boolean => x !== a;
    expect(boundLineage([a, b, c, d], alive, 3)).toEqual({ kept: [b, c, d], droppedAlive: 0 });
    expect(boundLineage([a, b, c, d], alive, 2)).toEqual({ kept: [c, d], droppedAlive: 1 });
  });

  const lineage = fc
    .array(fc.record({ parent: fc.nat(), alive: fc.option(fc.boolean(), { nil: undefined }) }), { maxLength: 60 })
    .map((rows) => rows.map((r, i) => ({ entry: e(100 + i, i === 0 ? 1 : 100 + (r.parent % i), 1000 + i), alive: r.alive })));

  it('property: within the cap; every process that may be alive is kept while the cap allows; a dead one only above one kept that may be', () => {
    fc.assert(
      fc.property(lineage, fc.integer({ min: 0, max: 80 }), (rows, cap) => {
        const alive = new Map(rows.map((r) => [r.entry, r.alive] as const));
        const entries = rows.map((r) => r.entry);
        const { kept, droppedAlive } = boundLineage(entries, (x) => alive.get(x), cap);
        expect(kept.length).toBeLessThanOrEqual(cap);
        expect(kept.every((x) => entries.includes(x))).toBe(true);
        const mayLive = entries.filter((x) => alive.get(x) !== false);
        if (mayLive.length <= cap) expect(mayLive.every((x) => kept.includes(x))).toBe(true);
        expect(droppedAlive).toBe(mayLive.filter((x) => !kept.includes(x)).length);
        const keptSet = new Set(kept);
        for (const x of kept) {
          if (alive.get(x) !== false) continue;
          // a kept dead entry is the parent of a kept entry
          expect(kept.some((y) => y.ppid === x.pid && y.startTime >= x.startTime && keptSet.has(y))).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('mergeJournal', () => {
  const entry = (sessionId: string, extra: object = {}): string => JSON.stringify({ sessionId, leaked: [{ pid: 9 }], ...extra });
  it('an entry gets its outcome; one whose outcome never came still says reaping started; an orphan outcome and junk are skipped', () => {
    const { entries, corrupt } = mergeJournal<{ sessionId: string; leaked: unknown[]; id?: string; reaping?: 'started'; reaped?: unknown[] }>([
      entry('plain'),
      entry('reaped', { id: 'r1', reaping: 'started' }),
      entry('crashed', { id: 'r2', reaping: 'started' }),
      JSON.stringify({ outcomeOf: 'r1', reaped: [{ pid: 9, result: 'terminated' }] }),
      JSON.stringify({ outcomeOf: 'rotated-away', reaped: [] }),
      '{"truncated',
      '{"neither":1}',
      '',
    ]);
    expect(entries).toEqual([
      { sessionId: 'plain', leaked: [{ pid: 9 }] },
      { sessionId: 'reaped', leaked: [{ pid: 9 }], id: 'r1', reaped: [{ pid: 9, result: 'terminated' }] },
      { sessionId: 'crashed', leaked: [{ pid: 9 }], id: 'r2', reaping: 'started' },
    ]);
    expect(corrupt).toBe(2);
  });
});
