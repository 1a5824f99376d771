import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ResourceTracker } from '../../src/tracking/tracker.js';
import { TrackerStateError } from '../../src/errors.js';
import { fakeReader, memoryStream, type FakeProcess } from '../helpers/fake-reader.js';

const base: FakeProcess[] = [
  { pid: 1, ppid: 0, command: '/sbin/init', rssMB: 10 },
  { pid: 100, ppid: 1, command: 'bash', rssMB: 5 },
];

function trackerOver(tables: FakeProcess[][], config = {}) {
  const out = memoryStream();
  const tracker = new ResourceTracker(config, createLogger({ stream: out }), { reader: fakeReader(tables) });
  return { tracker, lines: out.lines };
}

describe('ResourceTracker lifecycle (seed usage flow)', () => {
  it('logs the seed lines for snapshots and orphans', async () => {
    const { tracker, lines } = trackerOver([
      base,
      [...base, { pid: 12345, ppid: 1, command: 'chromium', rssMB: 200 }, { pid: 12346, ppid: 1, command: 'playwright-server', rssMB: 50 }, { pid: 12347, ppid: 999, command: 'sleep 5', rssMB: 1 }],
    ]);
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    const orphans = tracker.detectOrphans();
    expect(orphans.map((p) => p.pid)).toEqual([12345, 12346, 12347]);
    expect(lines).toEqual([
      'INFO resource snapshot taken (before) processes=2 memory_mb=15.0',
      'INFO resource snapshot taken (after) processes=5 memory_mb=266.0',
      'WARN orphaned processes detected count=3 processes="chromium (PID=12345) [MCP], playwright-server (PID=12346) [MCP], sleep 5 (PID=12347)"',
    ]);
  });

  it('MCP-only config logs only MCP orphans', async () => {
    const { tracker, lines } = trackerOver(
      [base, [...base, { pid: 300, ppid: 1, command: 'chromium' }, { pid: 301, ppid: 1, command: 'sleep 5' }]],
      { logOrphanedMCPOnly: true },
    );
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    expect(tracker.detectOrphans().map((p) => p.pid)).toEqual([300]);
    expect(lines[2]).toBe('WARN orphaned processes detected count=1 processes="chromium (PID=300) [MCP]"');
  });

  it.each([
    [99.9, false],
    [100, false],
    [100.1, true],
  ])('memory growth of %s MB over a 100 MB threshold warns: %s', async (growth, warns) => {
    const { tracker, lines } = trackerOver([base, [...base, { pid: 500, ppid: 100, command: 'x', rssMB: growth }]]);
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    expect(tracker.checkMemoryGrowth()).toBeCloseTo(growth, 6);
    const warn = lines.find((l) => l.startsWith('WARN memory growth'));
    if (warns) {
      expect(warn).toBe(`WARN memory growth exceeded threshold delta_mb=${growth.toFixed(1)} threshold_mb=100 before_mb=15.0 after_mb=${(15 + growth).toFixed(1)}`);
    } else {
      expect(warn).toBeUndefined();
    }
  });

  it('a disabled tracker takes no snapshot, finds nothing and reports 0', async () => {
    const reader = fakeReader([base]);
    const out = memoryStream();
    const tracker = new ResourceTracker({ enabled: false }, createLogger({ stream: out }), { reader });
    expect(await tracker.snapshotBefore()).toBeUndefined();
    expect(await tracker.snapshotAfter()).toBeUndefined();
    expect(tracker.detectOrphans()).toEqual([]);
    expect(tracker.checkMemoryGrowth()).toBe(0);
    expect(reader.reads).toBe(0);
    expect(out.lines).toEqual([]);
  });

  it('calls out of order throw a TrackerStateError naming the call (issue 33 #6: they returned [] and 0, which looks like a clean task)', async () => {
    const { tracker } = trackerOver([base]);
    const order = /called out of order/;
    expect(() => tracker.detectOrphans()).toThrow(TrackerStateError);
    expect(() => tracker.checkMemoryGrowth()).toThrow(/checkMemoryGrowth\(\): called out of order: snapshotBefore\(\), the task, then snapshotAfter\(\) first/);
    expect(() => tracker.taskAccount()).toThrow(order);
    await expect(tracker.analyze()).rejects.toThrow(order);
    await expect(tracker.snapshotAfter()).rejects.toThrow(/snapshotAfter\(\): called out of order: snapshotBefore\(\) first/);
    await expect(tracker.followTask(100)).rejects.toThrow(/followTask\(\): called out of order: snapshotBefore\(\) first/);
    await tracker.snapshotBefore();
    expect(() => tracker.detectOrphans()).toThrow(/detectOrphans\(\): called out of order: snapshotAfter\(\) first/);
    expect(() => tracker.checkMemoryGrowth()).toThrow(order);
    await expect(tracker.snapshotBefore()).rejects.toThrow(/snapshotBefore\(\): called out of order: reset\(\) first/);
    expect(tracker.beforeSnapshot).toBeDefined();
    expect(tracker.afterSnapshot).toBeUndefined();
    await tracker.snapshotAfter();
    await expect(tracker.snapshotAfter()).rejects.toThrow(order);
    expect(() => tracker.taskEnv()).toThrow(/taskEnv\(\): called out of order/);
    expect(tracker.detectOrphans()).toEqual([]);
    tracker.reset();
    await expect(tracker.snapshotBefore()).resolves.toBeDefined(); // the next task
    tracker.reset();
  });

  it.each([
    [1, RangeError, /pid 1 is init/],
    [-1, RangeError, /from 2/],
    [Number.NaN, RangeError, /got NaN/],
    [1.5, RangeError, /whole number/],
    ['123', TypeError, /must be a process id/],
    [999_999, RangeError, /no such process/],
    [100, RangeError, /was running before snapshotBefore\(\)/],
  ])('followTask(%s) is refused (issue 33 #6: a bystander got lineage evidence and was reaped)', async (pid, kind, message) => {
    const { tracker } = trackerOver([base]);
    await tracker.snapshotBefore();
    const call = tracker.followTask(pid as number);
    await expect(call).rejects.toThrow(kind);
    await expect(call).rejects.toThrow(message);
    tracker.reset();
  });

  it('followTask(child) of a task that exited already is fine: its tag and cgroup still tell', async () => {
    const { tracker } = trackerOver([base]);
    await tracker.snapshotBefore();
    await expect(tracker.followTask({ pid: 31337, exitCode: 0, signalCode: null })).resolves.toBeUndefined();
    await expect(tracker.followTask({ pid: undefined, exitCode: null, signalCode: null })).resolves.toBeUndefined();
    tracker.reset();
  });

  it('reset clears both snapshots', async () => {
    const { tracker } = trackerOver([base, base]);
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    tracker.reset();
    expect(tracker.beforeSnapshot).toBeUndefined();
    expect(tracker.afterSnapshot).toBeUndefined();
  });

  it('JSON log format: one object a line with level, msg and the same keys', async () => {
    const out = memoryStream();
    const tracker = new ResourceTracker({}, createLogger({ format: 'json', stream: out }), {
      reader: fakeReader([base, [...base, { pid: 9, ppid: 1, command: 'chromium' }]]),
    });
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    tracker.detectOrphans();
    const objects = out.lines.map((l) => JSON.parse(l));
    expect(objects[0]).toMatchObject({ level: 'info', msg: 'resource snapshot taken (before)', processes: 2, memory_mb: 15 });
    expect(objects[2]).toMatchObject({ level: 'warn', msg: 'orphaned processes detected', count: 1, processes: 'chromium (PID=9) [MCP]' });
  });

  it('a failed snapshot rejects with an error saying what could not be read', async () => {
    const reader = fakeReader([base]);
    reader.readProcessTable = async () => {
      throw new Error('cannot list /proc: EACCES');
    };
    const tracker = new ResourceTracker({}, createLogger({ stream: memoryStream() }), { reader });
    await expect(tracker.snapshotBefore()).rejects.toThrow(/cannot take a process snapshot: cannot list \/proc: EACCES/);
  });

  it('accepts a pino logger as is', async () => {
    const { default: pino } = await import('pino');
    const out = memoryStream();
    const logger = pino({ base: undefined, timestamp: false }, out);
    const tracker = new ResourceTracker({}, logger, { reader: fakeReader([base, [...base, { pid: 9, ppid: 1, command: 'chromium' }]]) });
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    tracker.detectOrphans();
    const warn = out.lines.map((l) => JSON.parse(l)).find((o) => o.level === 40);
    expect(warn).toMatchObject({ msg: 'orphaned processes detected', count: 1 });
  });

  it("what other runs of the host start meanwhile is not waited for (tasks at once: each run's after snapshot waited 3 × 40 ms for another's fork to exec)", async () => {
    const otherTag = 'rt3.4242.7.0.beef';
    const reader = fakeReader([
      base,
      [
        ...base,
        { pid: 900, ppid: 4242, command: 'node orchestrator.js', rssMB: 0 }, // the host's next task, between fork and exec
        { pid: 901, ppid: 100, command: 'bash', task: otherTag }, // another run's fork of its shell, not exec'd yet
      ],
    ]);
    const tracker = new ResourceTracker({}, undefined, { reader });
    await tracker.snapshotBefore();
    tracker.taskEnv({});
    await tracker.snapshotAfter();
    expect(reader.reads).toBe(2); // no reading again
    tracker.reset();
  });
});
