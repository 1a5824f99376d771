// The case this project exists for, with a real browser: a task starts headless Chromium (browser,
// zygotes, GPU and network processes, renderers, crashpad handlers that double-fork) and exits
// without closing it. Debian's chromium; .ci/run installs it.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { identityKey } from '../../src/rules/identity.js';
import { runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/debian-tools.js';
import { isAlive, ProcessJar, readIdentity } from '../helpers/processes.js';
import { reportFiles } from '../helpers/reports.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const { reportPath, readReport } = reportFiles('browser');
const profiles = mkdtempSync(join(tmpdir(), 'rtrack-chromium-'));
afterAll(() => rmSync(profiles, { recursive: true, force: true }));
// Chromium writes crash-report settings and dconf caches under HOME and XDG directories, even with
// a profile of its own: give it a home of its own, never the real user's.
const browserEnv = { ...process.env, HOME: profiles, XDG_CONFIG_HOME: join(profiles, 'config'), XDG_CACHE_HOME: join(profiles, 'cache'), XDG_DATA_HOME: join(profiles, 'data'), XDG_STATE_HOME: join(profiles, 'state') };

/** The task: starts Chromium, waits until its tree is whole and stable, and exits leaving it running. */
function leakyBrowserTask(): string[] {
  const task = fileURLToPath(new URL('../fixtures/tasks/leak-chromium.mjs', import.meta.url));
  return [process.execPath, task, mkdtempSync(join(profiles, 'profile-'))];
}

/**
 * Ground truth, read from /proc independently of rtrack: the live processes carrying the run's tag,
 * and their descendants (Chromium's zygote children write their title over their environment).
 */
function leakedTree(tag: string): number[] {
  const marker = Buffer.from(`RESOURCE_TRACKER_TASK=${tag}\0`);
  const found = new Set<number>();
  const others: [pid: number, ppid: number][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/environ`).includes(marker)) found.add(Number(entry));
      else others.push([Number(entry), Number(ppid)]);
    } catch {
      // gone, or a kernel thread
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of others) {
      if (!found.has(pid) && found.has(ppid)) grew = Boolean(found.add(pid));
    }
  }
  return [...found].sort((a, b) => a - b);
}

async function adoptAll(pids: number[]): Promise<void> {
  for (const pid of pids) await jar.adopt(pid);
}

describe('a real headless Chromium left behind by a task', () => {
  it('the whole browser tree is the run\'s orphans (tag: where Chromium wrote over its environment, its parent\'s, the same program); scan reaps it as one certain leak', async () => {
    if (!requireOrSkip('chromium', 'chromium')) return;
    const report = reportPath();
    const run = await runCli(['run', '--report', report, '--', ...leakyBrowserTask()], { timeoutMs: 60_000, env: browserEnv });
    const r = readReport(report);
    const leaked = leakedTree(r.tag!);
    await adoptAll(leaked);
    expect(run.code, run.stderr).toBe(0);
    expect(leaked.length).toBeGreaterThanOrEqual(4); // browser, two zygotes, renderer, utility processes, crashpad …

    // The leaked tree is exactly the run's orphans, each with tag evidence: the zygotes and their
    // children, whose environment Chromium's title rewrite overwrote, carry what their parent —
    // the same program, which passed its environment on — carried (environmentFrom).
    expect(r.orphans.map((p) => p.pid).sort((a, b) => a - b)).toEqual(leaked);
    for (const p of r.orphans) expect(p.evidence).toContain(p.taskTag === r.tag ? 'tag' : 'lineage');
    expect(r.orphans.some((p) => p.environmentFrom !== undefined && p.taskTag === r.tag)).toBe(true);
    expect(r.orphans.some((p) => p.command.includes('--type=renderer'))).toBe(true);
    expect(r.orphans.every((p) => p.isMCP)).toBe(true);
    expect(r.suspects.filter((p) => leaked.includes(p.pid))).toEqual([]);
    expect(r.leakedMemoryMB).toBeGreaterThan(50);
    expect(run.stderr).toMatch(/WARN orphaned processes detected count=\d+ processes=".*chromium.*\[MCP\]/);
    expect(run.stderr).toContain(`rtrack: the task left running: ${r.orphans.length} processes`);

    // The run that owned the tag is gone: scan sees one certain leak with exactly these processes.
    const scan = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    const group = scan.certain.find((g) => g.tag === r.tag)!;
    expect(group.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual(leaked);

    const reaped = await runCli(['scan', '--reap', '--grace', '3000'], { timeoutMs: 60_000 });
    expect(reaped.code, reaped.stderr).toBe(0);
    for (const pid of leaked) expect(await isAlive(pid)).toBe(false);
  }, 90_000);

  it('run --reap removes the whole browser tree and reports each process\'s result', async () => {
    if (!requireOrSkip('chromium', 'chromium')) return;
    const report = reportPath();
    const run = await runCli(['run', '--reap', '--report', report, '--', ...leakyBrowserTask()], { timeoutMs: 60_000, env: browserEnv });
    const r: TaskReport = readReport(report);
    await adoptAll(r.orphans.map((p) => p.pid)); // only a safety net: they should be gone already
    expect(run.code, run.stderr).toBe(0);
    expect(r.orphans.length).toBeGreaterThanOrEqual(4);
    expect(r.reaped!.map((o) => o.pid).sort((a, b) => a - b)).toEqual(r.orphans.map((p) => p.pid).sort((a, b) => a - b));
    for (const outcome of r.reaped!) expect(['terminated', 'killed', 'gone']).toContain(outcome.result);
    for (const p of r.orphans) {
      const now = await readIdentity(p.pid);
      expect(now === undefined || identityKey(now) !== identityKey(p)).toBe(true);
    }
    expect(leakedTree(r.tag!)).toEqual([]);
  }, 90_000);
});
