// The task's own account from the lineage's samples (tracking/task-account.ts): each process counted
// once — a child's time moves into its parent's when the parent waits for it, a re-parented one's
// never reaches the tree — and the cgroup's exact figures where there are some.
import { describe, expect, it } from 'vitest';
import type { ProcessStatus } from '../../src/platform/types.js';
import { TaskAccountant, taskAccount, type TreeSample } from '../../src/tracking/task-account.js';

const MB = 1024 * 1024;

/** A live process of the tree: its own CPU seconds (user), that of the children it waited for, its RSS and PSS in MB. */
function p(key: string, own: number, children = 0, rssMB = 10, pssMB: number | null = rssMB, parentInTree = true): TreeSample {
  const status: ProcessStatus = { pid: 1, ppid: 1, startTime: 1, alive: true, rssBytes: rssMB * MB, cpuUserSeconds: own, cpuSystemSeconds: 0, childrenCpuUserSeconds: children, childrenCpuSystemSeconds: 0 };
  return { key, status, parentInTree, ...(pssMB === null ? {} : { pssBytes: pssMB * MB }) };
}

describe('TaskAccountant', () => {
  it('a child waited for by its parent: its time is counted once, in the parent after it exits', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0.1), p('make', 2)]);
    a.sample(true, [p('root', 0.1), p('make', 3)]);
    a.vanished('make'); // waited for by root: its time is in root's children time from now on
    a.sample(true, [p('root', 0.1, 3.2)]);
    a.vanished('root');
    a.sample(false, []);
    expect(a.result().cpuUserSeconds).toBeCloseTo(3.3);
  });

  it('the last interval before the task exits is missed, not counted twice: a child still running at the last sample counts as it was then', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0.1), p('make', 5)]);
    a.vanished('make');
    a.vanished('root');
    a.sample(false, []);
    expect(a.result().cpuUserSeconds).toBeCloseTo(5.1);
  });

  it('a process re-parented out of the tree that then exits: its time never reaches the tree, so it is added', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0.2), p('daemon', 1, 0, 10, 10, false)]);
    a.vanished('daemon');
    a.sample(true, [p('root', 0.3)]);
    expect(a.result().cpuUserSeconds).toBeCloseTo(1.3);
  });

  it('a leak alive after the task: what it used after the last sample of the running task is added', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0.2), p('leak', 0.5, 0, 10, 10, false)]);
    a.vanished('root');
    a.sample(false, [p('leak', 0.9, 0, 10, 10, false)]);
    expect(a.result().cpuUserSeconds).toBeCloseTo(1.1);
  });

  it('memory: the highest sum of the tree, and the sums at the last sample of the running task', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0, 0, 5, 4)]);
    a.sample(true, [p('root', 0, 0, 5, 4), p('big', 0, 0, 300, 250)]);
    a.sample(true, [p('root', 0, 0, 5, 4), p('small', 0, 0, 20, 12)]);
    a.vanished('root');
    a.sample(false, [p('small', 0, 0, 20, 12)]);
    const r = a.result();
    expect(r).toMatchObject({ samples: 4, peakRssBytes: 305 * MB, peakPssBytes: 254 * MB, lastRssBytes: 25 * MB, lastPssBytes: 16 * MB, measured: true, pssAtEverySample: true });
  });

  it('a sample without PSS (its reading would cost more than its budget): the peak is RSS\'s, PSS\'s peak is of the samples that read it', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0, 0, 5, 4)]);
    a.sample(true, [p('root', 0, 0, 5, null), p('big', 0, 0, 300, null)], false);
    a.sample(true, [p('root', 0, 0, 5, 4), p('small', 0, 0, 20, 12)]);
    const r = a.result();
    expect(r).toMatchObject({ peakRssBytes: 305 * MB, peakPssBytes: 16 * MB, lastPssBytes: 16 * MB, pssAtEverySample: false });
    expect(taskAccount(r, undefined, { processes: 0, rssBytes: 0, pssBytes: 0 }, undefined).memory).toMatchObject({ source: 'rss', peakBytes: 305 * MB, peakPssBytes: 16 * MB });
  });

  it('a PSS that could not be read (another user\'s process) leaves PSS out: RSS is the figure', () => {
    const a = new TaskAccountant();
    a.sample(true, [p('root', 0, 0, 5, 4), p('setuid', 0, 0, 8, null)]);
    const account = taskAccount(a.result(), undefined, { processes: 0, rssBytes: 0, pssBytes: 0 }, undefined);
    expect(account.memory).toMatchObject({ source: 'rss', peakBytes: 13 * MB, peakRssBytes: 13 * MB });
    expect(account.memory.peakPssBytes).toBeUndefined();
    expect(a.result().pssAtEverySample).toBe(false);
  });
});

describe('taskAccount', () => {
  const sampled = { samples: 3, peakRssBytes: 300 * MB, peakPssBytes: 200 * MB, lastRssBytes: 0, cpuUserSeconds: 1, cpuSystemSeconds: 0.5, measured: true, pssAtEverySample: true };
  const none = { processes: 0, rssBytes: 0, pssBytes: 0 };

  it('the samples: peak by PSS, CPU from the samples', () => {
    expect(taskAccount(sampled, undefined, none, undefined)).toMatchObject({
      memory: { peakBytes: 200 * MB, peakMB: 200, source: 'pss' },
      cpu: { seconds: 1.5, userSeconds: 1, systemSeconds: 0.5, source: 'samples' },
    });
  });

  it("the cgroup's memory.peak and cpu.stat, where there are, are exact and win", () => {
    const account = taskAccount(sampled, { memoryPeakBytes: 512 * MB, memoryCurrentBytes: 3 * MB, cpuUserSeconds: 2, cpuSystemSeconds: 1 }, none, undefined);
    expect(account.memory).toMatchObject({ peakBytes: 512 * MB, source: 'cgroup', cgroupCurrentBytes: 3 * MB, peakPssBytes: 200 * MB });
    expect(account.cpu).toEqual({ seconds: 3, userSeconds: 2, systemSeconds: 1, source: 'cgroup' });
  });

  it.each([
    [199, true],
    [200, false],
    [250, false],
  ])('a per-task threshold of %s MB, a 200 MB peak: exceeded %s (strictly above, as the seed\'s)', (threshold, exceeded) => {
    expect(taskAccount(sampled, undefined, none, threshold).memory).toMatchObject({ thresholdMB: threshold, exceeded });
  });

  it('no threshold: no verdict', () => {
    const memory = taskAccount(sampled, undefined, none, undefined).memory;
    expect(memory.thresholdMB).toBeUndefined();
    expect(memory.exceeded).toBeUndefined();
  });
});
