// The macOS and Windows readers' own code paths, run here: procps `ps` accepts the macOS options,
// and the Windows commands are stand-in scripts on PATH that print recorded outputs.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { reapOrphans, ResourceTracker, silentLogger } from '../../src/index.js';
import { createDarwinReader } from '../../src/platform/darwin.js';
import { createWindowsReader, NO_PARENTS_WARNING } from '../../src/platform/windows.js';
import { ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const fixtures = fileURLToPath(new URL('../fixtures/windows/', import.meta.url));

describe('macOS reader (through procps ps, which takes the same options)', () => {
  it('snapshots, follows a task by ppid and finds its orphan', async () => {
    const reader = createDarwinReader();
    const tracker = new ResourceTracker({ lineageIntervalMs: 50 }, silentLogger, { reader });
    await tracker.snapshotBefore();
    expect(tracker.beforeSnapshot!.processes.some((p) => p.pid === process.pid)).toBe(true);
    const [leak] = await jar.orphan('sleep 380 >/dev/null 2>&1 & echo $!');
    await tracker.snapshotAfter();
    expect(tracker.detectOrphans().map((p) => p.pid)).toContain(leak);
    const status = await reader.readStatus(leak!);
    expect(status).toMatchObject({ pid: leak, ppid: 1, alive: true });
    expect(await reader.readStatus(2 ** 22 + 12345)).toBeUndefined();
    expect(reader.selfIdentity().pid).toBe(process.pid);
  });
});

const originalPath = process.env.PATH;
const originalLocale = process.env.LC_ALL;
afterEach(() => {
  process.env.PATH = originalPath;
  if (originalLocale === undefined) delete process.env.LC_ALL;
  else process.env.LC_ALL = originalLocale;
});

/** Puts stand-in scripts first on PATH (until the test ends); returns their directory. */
function standIns(scripts: Record<string, string>): string {
  const bin = tempDir('standin');
  for (const [name, body] of Object.entries(scripts)) {
    const path = join(bin, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
  }
  process.env.PATH = `${bin}:${originalPath}`;
  return bin;
}

const darwinFixtures = fileURLToPath(new URL('../fixtures/darwin/', import.meta.url));

describe('macOS reader: locale, failures and batching (stand-in ps)', () => {
  it('runs ps in the C locale: a German user\'s locale does not give an empty snapshot', async () => {
    // The stand-in prints lstart as a German locale would, unless LC_ALL=C.
    standIns({ ps: `if [ "$LC_ALL" = C ]; then cat ${darwinFixtures}ps-normal.txt; else sed 's/Thu Nov/Do. Nov./' ${darwinFixtures}ps-normal.txt; fi` });
    process.env.LC_ALL = 'de_DE.UTF-8';
    const table = await createDarwinReader().readProcessTable();
    expect(table.processes.length).toBeGreaterThan(3);
  });

  it('an empty process table is an error, not an empty machine', async () => {
    standIns({ ps: 'exit 0' });
    await expect(createDarwinReader().readProcessTable()).rejects.toThrow(/listed no processes/);
  });

  it('a ps that hangs is given up on with a clear error', async () => {
    standIns({ ps: 'exec sleep 30' });
    const started = Date.now();
    await expect(createDarwinReader({ timeoutMs: 300 }).readProcessTable()).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('several statuses are one ps call; a missing pid is gone, a failing ps makes them unreadable', async () => {
    const bin = standIns({ ps: `echo "$@" >> "$(dirname "$0")/calls"; cat ${darwinFixtures}ps-normal.txt` });
    const statuses = await createDarwinReader().readStatuses([1, 88, 4242424]);
    expect(readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n')).toEqual(['-ww -o pid=,ppid=,rss=,lstart=,command= -p 1,88,4242424']);
    expect(statuses.get(1)).toMatchObject({ pid: 1, alive: true });
    expect(statuses.has(4242424)).toBe(false);
    standIns({ ps: 'exit 2' });
    expect((await createDarwinReader().readStatuses([1])).get(1)).toBeNull();
    await expect(createDarwinReader().readStatus(1)).rejects.toThrow(/could not read/);
  });
});

describe('Windows reader fallback chain (stand-in commands)', () => {
  it('uses PowerShell CIM when it works', async () => {
    standIns({ 'powershell.exe': `cat ${fixtures}cim-ps51.json` });
    const table = await createWindowsReader().readProcessTable();
    expect(table.processes.map((p) => p.pid)).toEqual([0, 4, 812, 5120, 5200, 6000, 6001]);
    expect(table.warnings).toEqual([]);
  });

  it('falls back to wmic, reporting malformed rows', async () => {
    standIns({ 'powershell.exe': 'exit 1', wmic: `cat ${fixtures}wmic.csv` });
    const table = await createWindowsReader().readProcessTable();
    expect(table.processes).toHaveLength(7);
    expect(table.warnings).toEqual(['wmic: 2 malformed rows skipped']);
  });

  it('last resort tasklist: one clear warning, and no orphans rather than wrong ones', async () => {
    standIns({ 'powershell.exe': 'exit 1', wmic: 'exit 1', tasklist: `cat ${fixtures}tasklist.csv` });
    const reader = createWindowsReader();
    const lines: string[] = [];
    const logger = { info() {}, error() {}, warn: (_f: object, m: string) => void lines.push(m) };
    const tracker = new ResourceTracker({}, logger, { reader });
    await tracker.snapshotBefore();
    await tracker.snapshotAfter();
    expect(tracker.detectOrphans()).toEqual([]);
    expect(lines.filter((l) => l === NO_PARENTS_WARNING)).toHaveLength(1);
  });

  it('a single failure of PowerShell does not switch the reader to a poorer source for good', async () => {
    // PowerShell fails its first call only; wmic works throughout.
    const bin = standIns({
      'powershell.exe': `d="$(dirname "$0")"; if [ ! -e "$d/failed-once" ]; then touch "$d/failed-once"; exit 1; fi; cat ${fixtures}cim-ps51.json`,
      wmic: `cat ${fixtures}wmic.csv`,
    });
    const reader = createWindowsReader();
    expect((await reader.readProcessTable()).warnings).toEqual(['wmic: 2 malformed rows skipped']);
    expect(existsSync(join(bin, 'failed-once'))).toBe(true);
    expect((await reader.readProcessTable()).warnings).toEqual([]); // PowerShell again
  });

  it('a query that hangs is given up on, and the next source answers', async () => {
    standIns({ 'powershell.exe': 'exec sleep 30', wmic: `cat ${fixtures}wmic.csv` });
    const started = Date.now();
    const table = await createWindowsReader({ timeoutMs: 300 }).readProcessTable();
    expect(table.processes).toHaveLength(7);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reaping asks for all of a round\'s processes in one PowerShell call, never one per pid', async () => {
    const bin = standIns({ 'powershell.exe': `echo "$*" >> "$(dirname "$0")/calls"; cat ${fixtures}cim-ps51.json` });
    const reader = createWindowsReader();
    const targets = (await reader.readProcessTable()).processes
      .filter((p) => [5120, 5200, 6000].includes(p.pid))
      .map((p) => ({ pid: p.pid, ppid: p.ppid, command: p.name, memoryMB: 1, isMCP: false, startTime: p.startTime, evidence: ['tag' as const] }));
    expect(targets).toHaveLength(3);
    const sent: [number, string][] = [];
    const outcomes = await reapOrphans(targets, { reader, graceMs: 60, killWaitMs: 60, kill: (pid, signal) => void sent.push([pid, signal]) });
    expect(outcomes.map((o) => o.result)).toEqual(['survived', 'survived', 'survived']); // the stand-in lists them forever
    expect(sent.filter(([, s]) => s === 'SIGKILL')).toHaveLength(3);
    // Every query that asks about a target asks about all three (they all stay pending): one call a round.
    const rounds = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n').filter((c) => /ProcessId=(5120|5200|6000)\b/.test(c));
    expect(rounds.length).toBeGreaterThan(2);
    for (const call of rounds) expect([...call.matchAll(/ProcessId=(\d+)/g)].map((m) => Number(m[1])).sort()).toEqual([5120, 5200, 6000]);
  });

  it('fails with a clear error when no source works', async () => {
    standIns({ 'powershell.exe': 'exit 1', wmic: 'exit 1', tasklist: 'exit 1' });
    await expect(createWindowsReader().readProcessTable()).rejects.toThrow(/PowerShell, wmic and tasklist all failed/);
  });
});
