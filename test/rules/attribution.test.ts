import { describe, expect, it } from 'vitest';
import { attribute } from '../../src/rules/attribution.js';
import { identityKey } from '../../src/rules/identity.js';
import { keptInLineage, lineageByPid } from '../../src/rules/keep.js';
import type { LineageRecord } from '../../src/types.js';
import { proc, snap } from '../helpers/snapshots.js';

const TAG = 'rt2.4242.7.0.abc';
const init = proc(1, 0, '/sbin/init');
const userSystemd = proc(50, 1, '/lib/systemd/systemd --user');
const shell = proc(100, 50, 'bash');
const tracker = proc(110, 100, 'rtrack run -- claude');
const before = snap([init, userSystemd, shell, tracker]);

function lineageOf(...records: LineageRecord[]): Map<string, LineageRecord> {
  return new Map(records.map((r) => [identityKey(r), r]));
}

describe('attribute', () => {
  it('a tagged leak under a subreaper is an orphan; the seed rule alone would miss it', () => {
    const leak = proc(300, 50, 'node mcp-server.js', { taskTag: TAG });
    const after = snap([init, userSystemd, shell, tracker, leak]);
    const verdict = attribute(before, after, { tag: TAG });
    expect(verdict.orphans.map((p) => [p.pid, p.evidence])).toEqual([[300, ['tag', 'heuristic']]]);
  });

  it('an adopter is recognised as a subreaper by lineage, whatever its name', () => {
    const helper = proc(60, 1, 'python3 helper.py');
    const b = snap([init, helper, tracker]);
    const leak = proc(301, 60, 'sleep 100');
    const after = snap([init, helper, tracker, leak]);
    const verdict = attribute(b, after, { lineage: lineageOf({ pid: 301, ppid: 299, startTime: leak.startTime }) });
    expect(verdict.orphans[0]).toMatchObject({ pid: 301, evidence: ['lineage', 'heuristic'] });
  });

  it('a keep marker the lineage saw stays with the process, though a title rewrite overwrote its environment since and its parent is the task\'s', () => {
    const task = proc(200, 110, 'bash -c x', { taskTag: TAG });
    const daemon = proc(201, 200, 'mydaemon', { environmentUnreadable: true, environmentProblem: 'garbled' });
    const after = snap([...before.processes, task, daemon]);
    const lineage = lineageOf({ pid: 200, ppid: 110, startTime: task.startTime }, { pid: 201, ppid: 200, startTime: daemon.startTime, keep: true });
    const verdict = attribute(before, after, { tag: TAG, lineage });
    expect(verdict.kept.map((p) => p.pid)).toEqual([201]);
    expect(verdict.orphans.map((p) => p.pid)).toEqual([200]); // the task's shell, still running: its parent is not kept
  });

  it('a process whose environment is not whole is at most a suspect, said why; so is what runs below it', () => {
    const daemon = proc(210, 1, 'mydaemon', { environmentUnreadable: true, environmentProblem: 'garbled' });
    const child = proc(211, 210, 'worker', { taskTag: TAG });
    const verdict = attribute(before, snap([...before.processes, daemon, child]), { tag: TAG, lineage: lineageOf({ pid: 210, ppid: 110, startTime: daemon.startTime }) });
    expect(verdict.orphans).toEqual([]);
    expect(verdict.suspects.map((p) => [p.pid, p.suspectBecause])).toEqual([
      [210, 'its environment was overwritten (a title rewrite): its markers cannot be told'],
      [211, 'it runs below pid 210, and its environment was overwritten (a title rewrite): its markers cannot be told'],
    ]);
  });

  it('a bystander orphaned meanwhile is a suspect, never an orphan', () => {
    const bystander = proc(400, 1, 'cron-helper');
    const leak = proc(401, 1, 'chromium', { taskTag: TAG });
    const verdict = attribute(before, snap([...before.processes, bystander, leak]), { tag: TAG });
    expect(verdict.orphans.map((p) => p.pid)).toEqual([401]);
    expect(verdict.suspects.map((p) => [p.pid, p.evidence])).toEqual([[400, ['heuristic']]]);
  });

  it('a process with another task tag is not this task\'s', () => {
    const other = proc(402, 1, 'chromium', { taskTag: 'rt2.1.1.0.ffff' });
    const verdict = attribute(before, snap([...before.processes, other]), { tag: TAG });
    expect(verdict.orphans).toEqual([]);
    expect(verdict.suspects.map((p) => p.pid)).toEqual([402]);
  });

  it('an env -i child seen in the lineage is an orphan with lineage evidence', () => {
    const scrubbed = proc(500, 1, 'sleep 100');
    const verdict = attribute(before, snap([...before.processes, scrubbed]), {
      tag: TAG,
      lineage: lineageOf({ pid: 500, ppid: 499, startTime: scrubbed.startTime }),
    });
    expect(verdict.orphans[0]).toMatchObject({ pid: 500, evidence: ['lineage', 'heuristic'] });
  });

  it('PID reuse: a lineage identity with another start time is not evidence', () => {
    const reused = proc(600, 1, 'unrelated', { startTime: 99999 });
    const verdict = attribute(before, snap([...before.processes, reused]), {
      tag: TAG,
      lineage: lineageOf({ pid: 600, ppid: 110, startTime: 12 }),
    });
    expect(verdict.orphans).toEqual([]);
    expect(verdict.suspects.map((p) => p.pid)).toEqual([600]);
  });

  it('leaked children of a leaked process are part of the leak (whole tree, with parents)', () => {
    const browser = proc(700, 1, 'chromium --headless', { taskTag: TAG });
    const renderer = proc(701, 700, 'chromium --type=renderer'); // environment unread or scrubbed
    const gpu = proc(702, 700, 'chromium --type=gpu-process', { taskTag: TAG });
    const verdict = attribute(before, snap([...before.processes, browser, renderer, gpu]), { tag: TAG });
    expect(verdict.orphans.map((p) => [p.pid, p.ppid, p.evidence])).toEqual([
      [700, 1, ['tag', 'heuristic']],
      [701, 700, ['lineage']],
      [702, 700, ['tag']],
    ]);
  });

  it('a child that exited cleanly is not reported; a new child of a live bystander is not reported', () => {
    const unrelated = proc(800, 100, 'ls');
    const verdict = attribute(before, snap([...before.processes, unrelated]), { tag: TAG });
    expect(verdict).toEqual({ orphans: [], suspects: [], kept: [] });
  });

  it('processes that existed before are never attributed, even tagged', () => {
    const old = proc(900, 1, 'chromium', { taskTag: TAG });
    const b = snap([...before.processes, old]);
    expect(attribute(b, snap([...b.processes]), { tag: TAG })).toEqual({ orphans: [], suspects: [], kept: [] });
  });

  it('kept: a keep marker or pattern, or a kept ancestor, makes a process kept — never orphan or suspect', () => {
    const daemon = proc(1000, 1, 'sccache --start-server', { taskTag: TAG, keepReason: 'pattern' });
    const worker = proc(1001, 1000, 'sccache worker', { taskTag: TAG });
    const emptied = proc(1002, 1, 'postgres', { taskTag: '', keepReason: 'env' });
    const scrubbedChild = proc(1003, 1002, 'postgres: writer');
    const plain = proc(1004, 1, 'sleep 100', { taskTag: TAG });
    const verdict = attribute(before, snap([...before.processes, daemon, worker, emptied, scrubbedChild, plain]), { tag: TAG });
    expect(verdict.orphans.map((p) => p.pid)).toEqual([1004]);
    expect(verdict.kept.map((p) => p.pid)).toEqual([1000, 1001, 1002, 1003]);
    expect(verdict.suspects).toEqual([]);
  });

  it('when the task kept something, a scrubbed process whose parent exited unseen may be a kept one\'s daemon: a suspect, said why; one that carries the tag is the task\'s', () => {
    const launcher = proc(1200, 1, 'launcher', { taskTag: TAG, keepReason: 'env' });
    const daemon = proc(1201, 1, 'daemon'); // env -i, double-forked at once: no tag, no lineage
    const leak = proc(1202, 1, 'sleep 100', { taskTag: TAG });
    const members = new Set([1200, 1201, 1202]);
    const verdict = attribute(before, snap([...before.processes, launcher, daemon, leak]), { tag: TAG, cgroupMembers: members });
    expect(verdict.orphans.map((p) => p.pid)).toEqual([1202]);
    expect(verdict.suspects.map((p) => [p.pid, p.suspectBecause])).toEqual([[1201, 'its parent exited before the run saw where it came from, and the run kept pid 1200: it may be what that process started']]);
    // Nothing kept: the same scrubbed process is the task's.
    const alone = attribute(before, snap([...before.processes, daemon, leak]), { tag: TAG, cgroupMembers: members });
    expect(alone.orphans.map((p) => p.pid)).toEqual([1201, 1202]);
  });

  it('kept through the lineage: the kept parent is gone but was seen with the marker', () => {
    const child = proc(1100, 1, 'dev-server --port 3000');
    const verdict = attribute(before, snap([...before.processes, child]), {
      tag: TAG,
      lineage: lineageOf({ pid: 1099, ppid: 110, startTime: 5, keep: true }, { pid: 1100, ppid: 1099, startTime: child.startTime }),
    });
    expect(verdict.kept.map((p) => p.pid)).toEqual([1100]);
    expect(verdict.orphans).toEqual([]);
  });
});

describe('keptInLineage', () => {
  it('finds a kept parent whose pid a later process of the same lineage took', () => {
    const launcher = { pid: 50, ppid: 7, startTime: 100, keep: true };
    const daemon = { pid: 60, ppid: 50, startTime: 110 };
    const reused = { pid: 50, ppid: 7, startTime: 200 };
    expect(keptInLineage(daemon, lineageByPid([launcher, daemon, reused]))).toBe(true);
    expect(keptInLineage(daemon, lineageByPid([{ ...launcher, keep: undefined }, daemon, { ...reused, keep: true }]))).toBe(false); // the younger one is not its parent
    expect(keptInLineage({ pid: 61, ppid: 50, startTime: 90 }, lineageByPid([launcher]))).toBe(false); // older than any holder of the pid
  });
});
