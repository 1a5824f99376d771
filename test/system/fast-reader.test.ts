// The fast /proc reader against a plain reference implementation, on the live machine.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { takeSnapshot } from '../../src/index.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

/** The obvious way: read whole files, split strings. Slow, and clearly right. */
function plainRead(): Map<number, { ppid: number; startTime: number; rssPages: number; commandLine: string; name: string }> {
  const result = new Map<number, { ppid: number; startTime: number; rssPages: number; commandLine: string; name: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`);
      result.set(Number(entry), {
        ppid: Number(fields[1]),
        startTime: Number(fields[19]),
        rssPages: Number(fields[21]),
        commandLine: cmdline.toString('utf8').replace(/\0+$/, '').split('\0').join(' '),
        name: Buffer.from(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), 'latin1').toString('utf8'),
      });
    } catch {
      // gone meanwhile
    }
  }
  return result;
}

describe('fast reader = plain reader', () => {
  it('returns the same records for every process present in both readings', async () => {
    const mine = new Set<number>();
    for (let i = 0; i < 20; i++) mine.add(jar.spawn('sleep', ['390'], { argv0: `chromium --type=renderer --instance=${i} ${'x'.repeat(i * 50)}` }).pid!);
    await new Promise((r) => setTimeout(r, 200));
    const reader = createLinuxReader();
    const fast = await reader.readProcessTable();
    const plain = plainRead();
    let compared = 0;
    for (let p of fast.processes) {
      let q = plain.get(p.pid);
      if (!q || q.startTime !== p.startTime) continue; // came or went between the readings
      if (p.commandLine !== q.commandLine || p.ppid !== q.ppid || p.name !== q.name) {
        // It may have exec'd or been re-parented between the readings: read it both ways again.
        const again = (await reader.readProcessTable()).processes.find((r) => r.pid === p.pid);
        q = plainRead().get(p.pid);
        if (!again || !q || q.startTime !== again.startTime) continue;
        p = again;
      }
      expect(p.ppid).toBe(q.ppid);
      // Kernel workers rename themselves all the time (kworker/0:1-events → …-events_power_efficient),
      // faster than two readings under load: their names are not compared.
      if (p.ppid !== 2 && p.pid !== 2) expect(p.name).toBe(q.name);
      expect(p.commandLine).toBe(q.commandLine.length > 4096 ? p.commandLine : q.commandLine);
      // Another process's RSS may move by any amount between two reads (a GC, a big allocation): only
      // our sleepers' must agree, to the page size the reader multiplies by.
      if (mine.has(p.pid)) expect(p.rssBytes / 4096).toBe(q.rssPages);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('an incremental snapshot equals a full one for unchanged identities, and reads new ones fully', async () => {
    const before = await takeSnapshot();
    const child = jar.spawn('sleep', ['391'], { argv0: 'mcp-server-incremental-check' });
    await new Promise((r) => setTimeout(r, 100));
    const incremental = await takeSnapshot({ previous: before });
    const full = await takeSnapshot();
    const fullByPid = new Map(full.processes.map((p) => [p.pid, p]));
    for (const p of incremental.processes) {
      const q = fullByPid.get(p.pid);
      if (!q || q.startTime !== p.startTime) continue;
      // By design an unchanged identity keeps the command seen first; kernel workers rename
      // themselves (kworker/1:0-events → kworker/1:0-mm_percpu_wq) all the time, so skip them.
      if (p.pid === 2 || p.ppid === 2) continue;
      expect({ ...p, memoryMB: 0, memoryBytes: 0 }).toEqual({ ...q, memoryMB: 0, memoryBytes: 0 });
    }
    expect(incremental.processes.find((p) => p.pid === child.pid)?.command).toBe('mcp-server-incremental-check 391');
  });
});
