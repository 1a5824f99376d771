import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { takeSnapshot } from '../../src/tracking/snapshot.js';
import { ResourceTracker } from '../../src/tracking/tracker.js';
import { memoryStream } from '../helpers/fake-reader.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

describe('Linux reader on the real machine', () => {
  it('a snapshot contains this test process with the right pid, ppid and a plausible RSS', async () => {
    const snapshot = await takeSnapshot();
    const me = snapshot.processes.find((p) => p.pid === process.pid);
    expect(me).toBeDefined();
    expect(me!.ppid).toBe(process.ppid);
    const rssMB = process.memoryUsage().rss / 1024 / 1024;
    expect(me!.memoryMB).toBeGreaterThan(rssMB * 0.5);
    expect(me!.memoryMB).toBeLessThan(rssMB * 2);
    expect(me!.command).toContain('node');
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    // Identity in the kernel's own unit (clock ticks since boot, field 22); startTime in ms since the epoch.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(me!.identity).toBe(`${process.pid}:${ticks}`);
    const startedMsAgo = Date.now() - me!.startTime;
    expect(startedMsAgo).toBeGreaterThan(0);
    expect(startedMsAgo).toBeLessThan(process.uptime() * 1000 + 2000);
    expect(snapshot.processCount).toBe(snapshot.processes.length);
    expect(snapshot.totalMemoryMB).toBeCloseTo(snapshot.processes.reduce((s, p) => s + p.memoryMB, 0), 6);
    // kernel threads have no command line: their name is shown
    const kthreadd = snapshot.processes.find((p) => p.pid === 2);
    if (kthreadd) expect(kthreadd.command).toBe('kthreadd');
  });

  it('keepOpen: the same table as reading afresh; a kept descriptor of an exited process answers ESRCH and is closed on the next read', async () => {
    // The kernel's promise the kept descriptors rest on: once its process is gone, a descriptor of
    // /proc/[pid]/stat never reads another process's stat, even one that reuses the pid.
    const gone = jar.spawn('sleep', ['393']);
    await waitFor(() => readFileSync(`/proc/${gone.pid}/stat`, 'latin1').includes('(sleep)'));
    const fd = openSync(`/proc/${gone.pid}/stat`, 'r');
    try {
      gone.kill('SIGKILL');
      await new Promise((resolve) => gone.once('exit', resolve)); // reaped by its parent, this process
      expect(() => readSync(fd, Buffer.alloc(1024), 0, 1024, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    } finally {
      closeSync(fd);
    }

    const keptOf = (pid: number): number => readdirSync('/proc/self/fd').filter((f) => {
      try {
        return readlinkSync(`/proc/self/fd/${f}`) === `/proc/${pid}/stat`;
      } catch {
        return false;
      }
    }).length;
    const victim = jar.spawn('sleep', ['394'], { argv0: 'kept-descriptor-victim' });
    const stays = jar.spawn('sleep', ['395']);
    await waitFor(() => readFileSync(`/proc/${victim.pid}/cmdline`, 'latin1').startsWith('kept-descriptor-victim'));
    const reader = createLinuxReader();
    const first = await reader.readProcessTable({ keepOpen: true });
    expect(keptOf(victim.pid!)).toBe(1);
    const again = await reader.readProcessTable({ keepOpen: true });
    const plain = await createLinuxReader().readProcessTable();
    for (const table of [first, again]) {
      for (const pid of [victim.pid!, stays.pid!, process.pid]) {
        const p = table.processes.find((q) => q.pid === pid)!;
        const q = plain.processes.find((r) => r.pid === pid)!;
        expect({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, name: p.name }).toEqual({ pid: q.pid, ppid: q.ppid, startTime: q.startTime, name: q.name });
      }
    }
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const after = await reader.readProcessTable({ keepOpen: true });
    expect(after.processes.some((p) => p.pid === victim.pid)).toBe(false);
    expect(after.processes.some((p) => p.pid === stays.pid)).toBe(true);
    expect(keptOf(victim.pid!)).toBe(0);
    expect(keptOf(stays.pid!)).toBe(1);
  });

  it('a zombie is not a process of the snapshot (dead: no memory, no command), its parent is', async () => {
    // The parent forks a child that exits at once, and never waits for it.
    const parent = jar.spawn('python3', ['-c', 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(300)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
    expect(await waitFor(() => readFileSync(`/proc/${zombie}/stat`, 'latin1').includes(') Z '))).toBe(true);
    const pids = (await takeSnapshot()).processes.map((p) => p.pid);
    expect(pids).toContain(parent.pid);
    expect(pids).not.toContain(zombie);
  });

  it('a process whose main thread exited while other threads run shows Z, and is still in the snapshot', async () => {
    // Recorded /proc entries (a root of our own): the same state letter, told apart by field 20, num_threads.
    const root = tempDir('proc');
    const stat = (pid: number, state: string, threads: number): string =>
      `${pid} (worker) ${state} 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 ${threads} 0 ${1000 + pid} 0 0 18446744073709551615\n`;
    for (const [pid, state, threads, cmdline] of [[300, 'Z', 1, ''], [301, 'Z', 4, ''], [302, 'S', 1, 'worker --serve\0']] as const) {
      mkdirSync(join(root, String(pid)));
      writeFileSync(join(root, String(pid), 'stat'), stat(pid, state, threads));
      writeFileSync(join(root, String(pid), 'cmdline'), cmdline);
    }
    const table = await createLinuxReader(root).readProcessTable();
    expect(table.processes.map((p) => p.pid).sort()).toEqual([301, 302]);
  });

  it('detects a double-forked sleeper as an orphan, with its command', async () => {
    const out = memoryStream();
    const tracker = new ResourceTracker({}, createLogger({ stream: out }));
    await tracker.snapshotBefore();
    const [sleeper] = await jar.orphan('sleep 301 >/dev/null 2>&1 & echo $!');
    await tracker.snapshotAfter();
    const orphans = tracker.detectOrphans();
    const found = orphans.find((p) => p.pid === sleeper);
    expect(found).toBeDefined();
    expect(found!.command).toBe('sleep 301');
    expect(found!.isMCP).toBe(false);
    expect(out.lines.some((l) => l.startsWith('WARN orphaned processes detected') && l.includes(`sleep 301 (PID=${sleeper})`))).toBe(true);
    // this process itself existed before: never an orphan
    expect(orphans.some((p) => p.pid === process.pid)).toBe(false);
  });

  it('an MCP-looking orphan is tagged [MCP] (exec -a chromium)', async () => {
    const out = memoryStream();
    const tracker = new ResourceTracker({ logOrphanedMCPOnly: true }, createLogger({ stream: out }));
    await tracker.snapshotBefore();
    const [browser] = await jar.orphan('(exec -a chromium sleep 302) >/dev/null 2>&1 & echo $!');
    await tracker.snapshotAfter();
    const orphans = tracker.detectOrphans();
    expect(orphans.find((p) => p.pid === browser)).toMatchObject({ command: 'chromium 302', isMCP: true });
    expect(out.lines.some((l) => l.includes(`chromium 302 (PID=${browser}) [MCP]`))).toBe(true);
  });
});
