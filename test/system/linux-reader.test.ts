import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { takeSnapshot } from '../../src/snapshot.js';
import { ResourceTracker } from '../../src/tracker.js';
import { memoryStream } from '../helpers/fake-reader.js';
import { ProcessJar } from '../helpers/processes.js';

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
    expect(me!.startTime).toBe(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]));
    expect(snapshot.processCount).toBe(snapshot.processes.length);
    expect(snapshot.totalMemoryMB).toBeCloseTo(snapshot.processes.reduce((s, p) => s + p.memoryMB, 0), 6);
    // kernel threads have no command line: their name is shown
    const kthreadd = snapshot.processes.find((p) => p.pid === 2);
    if (kthreadd) expect(kthreadd.command).toBe('kthreadd');
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
