import { describe, expect, it } from 'vitest';
import { detectOrphans } from '../../src/rules/attribution.js';
import { isKernelThread, isReparented, parentState } from '../../src/rules/orphans.js';
import { proc, snap } from '../helpers/snapshots.js';

const init = proc(1, 0, '/sbin/init');
const shell = proc(100, 1, 'bash');
const agent = proc(200, 100, 'claude');

describe('detectOrphans (the seed rule, with identity)', () => {
  const cases: { name: string; before: ReturnType<typeof snap>; after: ReturnType<typeof snap>; expected: number[]; mcpOnly?: boolean }[] = [
    {
      name: 're-parented to init',
      before: snap([init, shell, agent]),
      after: snap([init, shell, proc(300, 1, 'chromium --headless')]),
      expected: [300],
    },
    {
      name: 'parent gone',
      before: snap([init, shell, agent]),
      after: snap([init, shell, proc(301, 250, 'node mcp-server.js')]),
      expected: [301],
    },
    {
      name: 'new child with a live parent is not an orphan',
      before: snap([init, shell, agent]),
      after: snap([init, shell, agent, proc(302, 200, 'rg foo')]),
      expected: [],
    },
    {
      name: 'a process that existed before is never an orphan, even under init',
      before: snap([init, shell, proc(150, 1, 'sshd')]),
      after: snap([init, shell, proc(150, 1, 'sshd')]),
      expected: [],
    },
    {
      name: 'pid reused by a new process counts as new',
      before: snap([init, shell, proc(400, 1, 'old-daemon', { startTime: 5 })]),
      after: snap([init, shell, proc(400, 1, 'chromium', { startTime: 9000 })]),
      expected: [400],
    },
    {
      name: 'a parent pid now held by a younger process is gone (pid reuse of the parent)',
      before: snap([init, shell]),
      after: snap([init, shell, proc(500, 600, 'leaked', { startTime: 100 }), proc(600, 1, 'unrelated', { startTime: 200 })]),
      expected: [500, 600],
    },
    {
      name: 'MCP-only filter keeps only MCP orphans',
      before: snap([init, shell]),
      after: snap([init, shell, proc(700, 1, 'chromium --headless'), proc(701, 1, 'sleep 100')]),
      expected: [700],
      mcpOnly: true,
    },
    {
      name: 'empty snapshots',
      before: snap([]),
      after: snap([]),
      expected: [],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const orphans = detectOrphans(c.before, c.after, { logOrphanedMCPOnly: c.mcpOnly });
      expect(orphans.map((p) => p.pid).sort()).toEqual(c.expected);
      // Without the task's evidence, the seed's rule: each is only a heuristic verdict (reapOrphans refuses it).
      for (const p of orphans) expect(p.evidence).toEqual(['heuristic']);
    });
  }

  it('a missing snapshot is a TypeError, not an empty list that looks like a clean run', () => {
    expect(() => detectOrphans(undefined as never, snap([proc(5, 1)]))).toThrow(TypeError);
    expect(() => detectOrphans(snap([]), undefined as never)).toThrow(/both must be process snapshots/);
  });

  it('with the task\'s evidence it means what the tracker\'s detectOrphans() means: the attributed orphans', () => {
    const tagged = { ...proc(800, 1, 'sleep 9'), taskTag: 'rt3.1.1.0.ab' };
    const bystander = proc(801, 1, 'sleep 8');
    const after = snap([init, shell, tagged, bystander]);
    expect(detectOrphans(snap([init, shell]), after).map((p) => p.pid).sort()).toEqual([800, 801]);
    const orphans = detectOrphans(snap([init, shell]), after, { tag: 'rt3.1.1.0.ab' });
    expect(orphans.map((p) => [p.pid, p.evidence])).toEqual([[800, ['tag', 'heuristic']]]);
  });

  it('skips processes whose parent is unknown (ppid -1) or outside the PID namespace (ppid 0)', () => {
    expect(detectOrphans(snap([]), snap([proc(9, -1)]))).toEqual([]);
    expect(detectOrphans(snap([]), snap([proc(9, 0)]))).toEqual([]);
  });
});

describe('parentState, isKernelThread, isReparented: the one orphan rule', () => {
  const live = new Map([init, shell, agent, proc(2, 0, 'kthreadd'), proc(3, 2, 'kworker/0:1'), proc(30, 1, '/lib/systemd/systemd --user')].map((p) => [p.pid, p]));
  it.each([
    ['parent is init', proc(500, 1), 'init', true],
    ['parent gone', proc(501, 77), 'gone', true],
    ['parent pid now held by a younger process', proc(502, 200, 'x', { startTime: 1 }), 'gone', true],
    ['parent alive', proc(503, 200), 'live', false],
    ['parent unknown (Windows tasklist)', proc(504, -1), 'unknown', false],
    ['parent outside the namespace', proc(505, 0), 'unknown', false],
  ] as const)('%s', (_name, p, state, orphaned) => {
    expect(parentState(p, live)).toBe(state);
    expect(isReparented(p, live)).toBe(orphaned);
  });

  it('a subreaper parent (by name, or seen adopting) makes a process re-parented', () => {
    expect(isReparented(proc(600, 30), live)).toBe(true);
    expect(isReparented(proc(601, 200), live, new Set([200]))).toBe(true);
  });

  it('kernel threads are kthreadd and its children, only where pid 2 is kthreadd', () => {
    expect(isKernelThread(live.get(3)!, live)).toBe(true);
    expect(isKernelThread(live.get(2)!, live)).toBe(true);
    const container = new Map([proc(1, 0, 'tini'), proc(2, 1, 'node server.js'), proc(3, 2, 'node worker.js')].map((p) => [p.pid, p]));
    expect(isKernelThread(container.get(3)!, container)).toBe(false);
    expect(isKernelThread(container.get(2)!, container)).toBe(false);
  });
});
