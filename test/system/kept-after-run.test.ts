// What a run kept, after the run (review findings; each failed before the fix): a kept launcher's
// daemon, born after the run ended and double-forked away, carries the over run's tag — it is no
// certain leak of that run, `scan --reap` leaves it, and the run's record lives as long as it does;
// `rtrack uninstall` leaves the records of kept processes that still run. Real processes under
// `rtrack run`; HOME and XDG directories are temporary; every process is killed by pid afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { newHome, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { carryingTag, isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const tags: string[] = [];
afterEach(async () => {
  for (const tag of tags.splice(0)) for (const pid of carryingTag(tag)) await jar.adopt(pid);
  await jar.cleanup();
});

const pids = (groups: ScanReport['certain']): number[] => groups.flatMap((g) => g.processes.map((p) => p.pid));

/** `rtrack run <args> -- bash -c <script>` in the home: its report; what it names is adopted for cleanup. */
async function run(h: Home, args: string[], script: string): Promise<TaskReport> {
  const r = await runCli(['run', ...args, '--report', '-', '--', 'bash', '-c', script], { env: h.env, cwd: h.home, timeoutMs: 30_000 });
  const report = JSON.parse(r.stdout) as TaskReport;
  tags.push(report.tag!);
  for (const p of [...report.orphans, ...report.suspects, ...report.kept]) await jar.adopt(p.pid);
  return report;
}

async function scan(h: Home, args: string[] = []): Promise<ScanReport> {
  return JSON.parse((await runCli(['scan', '--json', ...args], { env: h.env })).stdout) as ScanReport;
}

describe('a kept launcher whose daemon is born after the run ended', () => {
  it('the daemon (setsid, re-parented) is a suspect, not a certain leak: scan --reap leaves it, the record outlives the launcher; named, it goes', async () => {
    const h = newHome(homes);
    const daemonFile = join(h.home, 'daemon.pid');
    // The launcher: kept by --keep; 1.5 s after the run, its daemon leaves it (setsid -f) and it exits.
    writeFileSync(join(h.home, 'launcher.sh'), `sleep 1.5\nsetsid -f bash -c 'echo $$ > ${daemonFile}; exec sleep 4712' </dev/null >/dev/null 2>&1\nsleep 0.5\n`);
    const report = await run(h, ['--keep', '^my-launcher'], `nohup bash -c 'exec -a my-launcher bash ${join(h.home, 'launcher.sh')}' >/dev/null 2>&1 &\nnohup sleep 4711 >/dev/null 2>&1 &\nsleep 0.3`);
    const launcher = report.kept.find((p) => p.command.startsWith('my-launcher'))!;
    expect(launcher).toBeDefined();
    const leak = report.orphans.find((p) => p.command === 'sleep 4711')!.pid;
    expect(await waitFor(() => existsSync(daemonFile) && readFileSync(daemonFile, 'utf8').trim() !== '')).toBe(true);
    const daemon = Number(readFileSync(daemonFile, 'utf8'));
    await jar.adopt(daemon);
    expect(await waitFor(async () => !(await isAlive(launcher.pid)))).toBe(true);

    const reaping = await scan(h, ['--reap', '--grace', '300']);
    // The run's own leak is certain as before; the daemon carries the tag too, but may be the kept launcher's.
    expect(pids(reaping.certain)).toEqual([leak]);
    const suspect = reaping.suspected.flatMap((g) => g.processes).find((p) => p.pid === daemon);
    expect(suspect?.suspectBecause).toBe(`born after its run ended, which kept pid ${launcher.pid} (${launcher.command}): it may be the kept process's`);
    expect(await waitFor(async () => !(await isAlive(leak)))).toBe(true);
    expect(await isAlive(daemon)).toBe(true);
    // The launcher is gone, the daemon is not: the record stays for it.
    expect(readdirSync(join(h.state, 'kept'))).toEqual([`${report.tag}.json`]);

    // A person names it: then it goes, and the record with it (the next look finds nothing of it alive).
    await runCli(['scan', '--reap', '--match', '^sleep 4712$', '--yes', '--grace', '300'], { env: h.env });
    expect(await waitFor(async () => !(await isAlive(daemon)))).toBe(true);
    await scan(h);
    expect(readdirSync(join(h.state, 'kept'))).toEqual([]);
  });
});

describe('rtrack uninstall and what runs kept', () => {
  it('leaves the records of kept processes that still run (said in one line), removes the others: a later scan --reap still keeps them', async () => {
    const h = newHome(homes);
    const keptRun = await run(h, ['--keep', '^sleep 4714$'], 'nohup sleep 4714 >/dev/null 2>&1 &\nsleep 0.3');
    const goneRun = await run(h, ['--keep', '^sleep 4715$'], 'nohup sleep 4715 >/dev/null 2>&1 &\nsleep 0.3');
    const [kept, gone] = [keptRun.kept[0]!.pid, goneRun.kept[0]!.pid];
    process.kill(gone, 'SIGKILL');
    expect(await waitFor(async () => !(await isAlive(gone)))).toBe(true);
    const keptDir = join(h.state, 'kept');
    expect(readdirSync(keptDir).sort()).toEqual([`${keptRun.tag}.json`, `${goneRun.tag}.json`].sort());

    const r = await runCli(['uninstall', '--yes'], { env: h.env, cwd: h.home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rtrack: ${keptDir} is left: a record of what runs kept that still runs (without it a later rtrack would take that for a leak); remove it once those processes have exited\n`);
    expect(readdirSync(h.state)).toEqual(['kept']);
    expect(readdirSync(keptDir)).toEqual([`${keptRun.tag}.json`]);

    const later = await scan(h, ['--reap', '--grace', '300']);
    expect(pids(later.certain)).not.toContain(kept);
    expect(later.kept.map((p) => p.pid)).toContain(kept);
    expect(await isAlive(kept)).toBe(true);
  });
});

describe('a look from another PID namespace (a container sharing the home)', () => {
  it.skipIf(process.getuid?.() !== 0)("leaves a run's record alone: it cannot tell the run's pids alive or gone, and a later scan --reap here still keeps the process (review)", async () => {
    const h = newHome(homes);
    const r = await run(h, ['--keep', '^sleep 4716$'], 'nohup sleep 4716 >/dev/null 2>&1 &\nsleep 0.3');
    const kept = r.kept[0]!.pid;
    const record = join(h.state, 'kept', `${r.tag}.json`);
    expect(existsSync(record)).toBe(true);
    const inside = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, RTRACK, 'scan', '--json'], { env: h.env, encoding: 'utf8', timeout: 30_000 });
    expect(inside.status, inside.stderr).toBe(0);
    expect(existsSync(record)).toBe(true);
    const later = await scan(h, ['--reap', '--grace', '300']);
    expect(pids(later.certain)).not.toContain(kept);
    expect(await isAlive(kept)).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('what a run in the container kept is at most a suspect here, said why, and scan --reap here leaves it (second review)', async () => {
    const h = newHome(homes);
    // The container: its init stays (it ends with the test: --kill-child); the run inside keeps sleep 4719.
    const inner = `${process.execPath} ${RTRACK} run --cgroup off --keep '^sleep 4719$' -- sh -c 'nohup sleep 4719 >/dev/null 2>&1 & sleep 0.3' >/dev/null 2>&1; exec sleep 600`;
    jar.spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'bash', '-c', inner], { env: h.env, stdio: 'ignore' });
    expect(await waitFor(() => existsSync(join(h.state, 'kept')) && readdirSync(join(h.state, 'kept')).some((n) => n.endsWith('.json')), 20_000)).toBe(true);
    const later = await scan(h, ['--reap', '--grace', '300']);
    const kept = later.suspected.flatMap((g) => g.processes).find((p) => p.command === 'sleep 4719');
    expect(kept?.suspectBecause).toMatch(/^its run, in PID namespace \d+, which kept pid \d+ \(sleep 4719\) there: which processes it kept cannot be told here$/);
    expect(pids(later.certain)).not.toContain(kept!.pid);
    expect(await isAlive(kept!.pid)).toBe(true);
  });
});
