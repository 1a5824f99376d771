// Scale: a snapshot of 5,000 processes completes and is correct.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ResourceTracker, silentLogger, takeSnapshot } from '../../src/index.js';
import { waitFor } from '../helpers/processes.js';
import { createLinuxReader } from '../../src/platform/linux.js';

const COUNT = 5000;
const children: ChildProcess[] = [];
const reader = createLinuxReader();

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await waitFor(() => children.every((c) => c.exitCode !== null || c.signalCode !== null), 30_000, 50);
});

describe(`${COUNT} processes`, () => {
  it('a full and an incremental snapshot contain every one with the right parent and command', async () => {
    const baseline = await takeSnapshot();
    for (let i = 0; i < COUNT; i++) {
      children.push(spawn('sleep', ['450'], { argv0: `chromium --type=renderer --scale-test=${i}`, stdio: 'ignore' }));
      if (i % 250 === 249) await new Promise((r) => setImmediate(r));
    }
    const pids = children.map((c) => c.pid!);
    expect(await waitFor(async () => (await reader.readStatus(pids.at(-1)!))?.alive === true, 30_000)).toBe(true);

    const full = await takeSnapshot();
    expect(full.processCount).toBeGreaterThanOrEqual(COUNT);
    const byPid = new Map(full.processes.map((p) => [p.pid, p]));
    pids.forEach((pid, i) => {
      expect(byPid.get(pid)).toMatchObject({ ppid: process.pid, command: `chromium --type=renderer --scale-test=${i} 450`, isMCP: true });
    });

    const tracker = new ResourceTracker({}, silentLogger);
    // the seed's flow at scale: none of them is an orphan (their parent, this process, is alive)
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    expect(tracker.detectOrphans().filter((p) => pids.includes(p.pid))).toEqual([]);

    const incremental = await takeSnapshot({ previous: baseline });
    const incrementalByPid = new Map(incremental.processes.map((p) => [p.pid, p]));
    for (const pid of pids) expect(incrementalByPid.get(pid)?.command).toBe(byPid.get(pid)!.command);
  });
});
