// Processes meant to outlive a task: declared, never counted or reaped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScanReport } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { reportFiles } from '../helpers/reports.js';
import { isAlive, ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const { dir, reportPath, readReport } = reportFiles('keep');

/** Prints "name pid" for each process it leaves. */
const TASK = [
  'RESOURCE_TRACKER_KEEP=1 sleep 400 >/dev/null 2>&1 & echo "keep $!"',
  'RESOURCE_TRACKER_TASK= sleep 401 >/dev/null 2>&1 & echo "emptied $!"',
  'sleep 402 >/dev/null 2>&1 & echo "plain $!"',
].join('\n');

async function leftBy(stdout: string): Promise<Record<string, number>> {
  const pids: Record<string, number> = {};
  for (const [, name, pid] of stdout.matchAll(/^(\w+) (\d+)$/gm)) {
    pids[name!] = Number(pid);
    await jar.adopt(Number(pid));
  }
  return pids;
}

describe('kept processes', () => {
  it('RESOURCE_TRACKER_KEEP=1 and an emptied tag are kept: never orphans, never reaped', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', report, '--', 'bash', '-c', TASK]);
    const pids = await leftBy(r.stdout);
    const json = readReport(report);
    expect(json.orphans.map((p) => p.pid)).toEqual([pids.plain]);
    expect(json.kept.map((p) => p.pid).sort()).toEqual([pids.keep, pids.emptied].sort());
    expect(json.kept.every((p) => p.keepReason === 'env')).toBe(true);
    expect(json.reaped!.map((x) => x.pid)).toEqual([pids.plain]);
    expect(await isAlive(pids.plain!)).toBe(false);
    expect(await isAlive(pids.keep!)).toBe(true);
    expect(await isAlive(pids.emptied!)).toBe(true);
    expect(r.stderr).toMatch(/rtrack: kept \(declared to outlive the task, not touched\): 2 processes/);
    expect(r.stderr).toMatch(/INFO kept processes left running count=2/);
  });

  it('a child of a kept process is kept, even with its environment scrubbed', async () => {
    const report = reportPath();
    const task = `RESOURCE_TRACKER_KEEP=1 bash -c 'env -i sleep 403 >/dev/null 2>&1 & echo "child $!"; exec sleep 404' >/dev/null & echo "parent $!"; sleep 0.5`;
    // the child's pid is printed by the kept bash to /dev/null; find it through the parent's tree instead
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', report, '--', 'bash', '-c', task]);
    const pids = await leftBy(r.stdout);
    const json = readReport(report);
    for (const p of json.kept) await jar.adopt(p.pid);
    expect(json.orphans).toEqual([]);
    expect(json.kept.map((p) => p.command).sort()).toEqual(['sleep 403', 'sleep 404']);
    expect(await isAlive(pids.parent!)).toBe(true);
  });

  it('a keep pattern from the YAML file and from --keep have the same effect', async () => {
    const config = join(dir, 'keep.yaml');
    writeFileSync(config, "diagnostics:\n  resource_tracking:\n    keep: ['^sleep 40[56]$']\n");
    const fromFile = reportPath();
    const r1 = await runCli(['run', '--reap', '--grace', '200', '--config', config, '--report', fromFile, '--', 'bash', '-c', 'sleep 405 >/dev/null 2>&1 & echo "a $!"; sleep 407 >/dev/null 2>&1 & echo "b $!"']);
    const p1 = await leftBy(r1.stdout);
    const fromFlag = reportPath();
    const r2 = await runCli(['run', '--reap', '--grace', '200', '--keep', '^sleep 40[56]$', '--report', fromFlag, '--', 'bash', '-c', 'sleep 406 >/dev/null 2>&1 & echo "a $!"; sleep 408 >/dev/null 2>&1 & echo "b $!"']);
    const p2 = await leftBy(r2.stdout);
    for (const [json, pids] of [[readReport(fromFile), p1], [readReport(fromFlag), p2]] as const) {
      expect(json.kept.map((p) => [p.pid, p.keepReason])).toEqual([[pids.a, 'pattern']]);
      expect(json.orphans.map((p) => p.pid)).toEqual([pids.b]);
      expect(await isAlive(pids.a!)).toBe(true);
      expect(await isAlive(pids.b!)).toBe(false);
    }
  });

  it.each([
    [['run', '--keep', '(unclosed', '--', 'true'], /--keep\[0\]: invalid regular expression "\(unclosed"/],
    [['scan', '--keep', 'ok', '--keep', '[z-a]'], /--keep\[1\]: invalid regular expression/],
  ])('a bad keep pattern exits 2: %j', async (args, pattern) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  });

  it('a bad keep pattern in the YAML file exits 2 naming the entry', async () => {
    const config = join(dir, 'bad-keep.yaml');
    writeFileSync(config, "diagnostics:\n  resource_tracking:\n    keep: ['fine', '*bad']\n");
    const r = await runCli(['run', '--config', config, '--', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-keep\.yaml: diagnostics\.resource_tracking\.keep\[1\]: invalid regular expression/);
  });

  it('scan lists kept processes apart and does not count them as leaks', async () => {
    const [kept] = await jar.orphan('(RESOURCE_TRACKER_KEEP=1 exec -a "node kept-dev-server.js" sleep 409) >/dev/null 2>&1 & echo $!');
    const [pattern] = await jar.orphan('(exec -a "npx keep-by-pattern" sleep 410) >/dev/null 2>&1 & echo $!');
    const [leak] = await jar.orphan('(exec -a "npx not-kept" sleep 411) >/dev/null 2>&1 & echo $!');
    const r = await runCli(['scan', '--json', '--keep', 'keep-by-pattern']);
    const scan = JSON.parse(r.stdout) as ScanReport;
    expect(scan.kept.map((p) => p.pid).sort()).toEqual([kept, pattern].sort());
    const leaks = [...scan.certain, ...scan.suspected].flatMap((g) => g.processes.map((p) => p.pid));
    expect(leaks).toContain(leak);
    expect(leaks).not.toContain(kept);
    expect(leaks).not.toContain(pattern);
    const reap = await runCli(['scan', '--reap', '--match', 'node kept-dev-server|keep-by-pattern', '--yes', '--keep', 'keep-by-pattern']);
    expect(reap.code).toBe(0);
    expect(await isAlive(kept!)).toBe(true);
    expect(await isAlive(pattern!)).toBe(true);
  });
});
