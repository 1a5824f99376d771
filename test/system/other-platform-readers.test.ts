// The macOS and Windows readers' own code paths, run here: procps `ps` accepts the macOS options,
// and the Windows commands are stand-in scripts on PATH that print recorded outputs.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceTracker, silentLogger } from '../../src/index.js';
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

describe('Windows reader fallback chain (stand-in commands)', () => {
  const originalPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  function standIns(scripts: Record<string, string>): void {
    const bin = mkdtempSync(join(tmpdir(), 'rtrack-winbin-'));
    for (const [name, body] of Object.entries(scripts)) {
      const path = join(bin, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
    }
    process.env.PATH = `${bin}:${originalPath}`;
  }

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

  it('fails with a clear error when no source works', async () => {
    standIns({ 'powershell.exe': 'exit 1', wmic: 'exit 1', tasklist: 'exit 1' });
    await expect(createWindowsReader().readProcessTable()).rejects.toThrow(/PowerShell, wmic and tasklist all failed/);
  });
});
