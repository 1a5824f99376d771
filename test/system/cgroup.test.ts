// Containment on Linux: each run in a cgroup v2 group of its own (root here, or a delegated
// subtree), so that no process the task starts escapes its verdict or its reaping. Skipped, with a
// message, where cgroup v2 is not writable. Every group a test makes is removed by that test.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTracked, scanMachine, silentLogger, type ScanReport, type TaskReport } from '../../src/index.js';
import type { PlatformReader } from '../../src/platform/types.js';
import { cgroup2Mount, locateCgroupParent } from '../../src/platform/cgroup.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { carryingTag, isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
const reader = createLinuxReader();
const where = locateCgroupParent();
const writable = !('why' in where) && process.getuid?.() === 0;
if (!writable) console.warn(`skipping the cgroup tests: ${'why' in where ? where.why : 'they need root (to hand a subtree to nobody)'}`);
const mount = cgroup2Mount();
const groupsMade: string[] = [];

afterEach(async () => {
  await jar.cleanup();
  for (const dir of groupsMade.splice(0)) {
    // A test's own group: whatever is left in it is the test's, killed whole, then removed.
    if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
    await waitFor(() => !/^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1')), 3000);
    rmdirSync(dir);
  }
});

const reportOf = (stdout: string): TaskReport => JSON.parse(stdout) as TaskReport;
const groupOf = (pid: number): string => readFileSync(`/proc/${pid}/cgroup`, 'latin1').split('\n').find((l) => l.startsWith('0::'))!.slice(3);

describe.skipIf(!writable)('rtrack run in a cgroup of its own', () => {
  it('a child that scrubs its environment (env -i setsid) and double-forks at once is an orphan with cgroup evidence; the group is removed', async () => {
    const r = await runCli(['run', '--report', '-', '--', 'bash', '-c', 'env -i setsid bash -c "(exec -a detached-641 sleep 641 &) &"; sleep 0.05']);
    const report = reportOf(r.stdout);
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.cgroup?.path).toMatch(/\/rtrack-rt3\.[\d.]+[0-9a-f]+$/);
    expect(report.cgroup?.removed).toBe(true);
    expect(existsSync(report.cgroup!.path)).toBe(false);
    const leak = report.orphans.find((p) => p.command === 'detached-641 641');
    expect(leak?.evidence).toContain('cgroup');
    expect(leak?.evidence).not.toContain('tag'); // env -i: the tag is gone; the group is not
  });

  it('a leftover that forks children in a tight loop: --reap leaves nothing of it alive, and the group is removed', async () => {
    const script = 'bash -c \'for i in $(seq 400); do sleep 642 & done; wait\' >/dev/null 2>&1 & sleep 0.2';
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', '-', '--', 'bash', '-c', script], { timeoutMs: 60_000 });
    const report = reportOf(r.stdout);
    for (const pid of carryingTag(report.tag!)) await jar.adopt(pid);
    expect(report.orphans.length).toBeGreaterThan(0);
    expect(report.cgroup?.removed).toBe(true);
    expect(carryingTag(report.tag!)).toEqual([]); // not one process of the run left (zombies excepted: they carry no environment)
  });

  it('a kept process in the group survives reaping (moved out of the group first); the leak beside it does not', async () => {
    const script = 'RESOURCE_TRACKER_KEEP=1 sleep 643 >/dev/null 2>&1 & echo "kept $!"; sleep 644 >/dev/null 2>&1 & echo "leak $!"';
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', '-', '--', 'bash', '-c', `exec >&2; ${script}`]);
    const kept = Number(/kept (\d+)/.exec(r.stderr)![1]);
    const leak = Number(/leak (\d+)/.exec(r.stderr)![1]);
    await jar.adopt(kept);
    await jar.adopt(leak);
    const report = reportOf(r.stdout);
    expect(report.kept.map((p) => p.pid)).toContain(kept);
    expect(await isAlive(kept)).toBe(true);
    expect(groupOf(kept)).not.toMatch(/rtrack-/);
    expect(await isAlive(leak)).toBe(false);
    expect(report.cgroup?.removed).toBe(true);
  });

  it('without --reap the leftovers move out to the parent group and the group is removed; scan still knows them by their tag', async () => {
    const r = await runCli(['run', '--report', '-', '--', 'bash', '-c', 'sleep 645 >/dev/null 2>&1 &']);
    const report = reportOf(r.stdout);
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.orphans[0]?.evidence).toEqual(expect.arrayContaining(['tag', 'cgroup']));
    expect(existsSync(report.cgroup!.path)).toBe(false);
    expect(groupOf(report.orphans[0]!.pid)).not.toMatch(/rtrack-/);
  });

  it('a group a run left frozen (its rtrack was SIGKILLed while it judged the run) is thawed by the next scan, which says so (review)', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(status.pid)));
    const tag = formatTaskTag({ ...status, pidNamespace: reader.readPidNamespace!(process.pid)!.namespace }, 'f0e2');
    const dir = join((where as { parent: string }).parent, `rtrack-${tag}`);
    mkdirSync(dir);
    groupsMade.push(dir);
    // What the run kept, in the group, frozen: it answers nothing.
    const kept = spawn('/bin/sh', ['-c', 'echo 0 > "$0" && RESOURCE_TRACKER_KEEP=1 exec sleep 649', join(dir, 'cgroup.procs')], { stdio: 'ignore' });
    await waitFor(() => readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim() !== '');
    await jar.adopt(kept.pid!);
    writeFileSync(join(dir, 'cgroup.freeze'), '1');
    expect(await waitFor(() => /^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1')))).toBe(true);
    const scan = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    expect(scan.warnings.some((w) => w.startsWith(`thawed ${dir}:`))).toBe(true);
    expect(/^frozen 0$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1'))).toBe(true);
    expect(await isAlive(kept.pid!)).toBe(true);
  });

  it('scan --reap run from a shell inside a group a SIGKILLed run left never freezes that group (it holds rtrack itself): the scan ends, nothing stays frozen (review)', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(status.pid)));
    const tag = formatTaskTag({ ...status, pidNamespace: reader.readPidNamespace!(process.pid)!.namespace }, '5e1f1');
    const dir = join((where as { parent: string }).parent, `rtrack-${tag}`);
    mkdirSync(dir);
    groupsMade.push(dir);
    // The task goes on in the group: a leak carrying the run's tag, and a shell that runs scan --reap.
    const script = `echo 0 > "$0" && (RESOURCE_TRACKER_TASK=${tag} exec sleep 648 &) && exec "${process.execPath}" "${RTRACK}" scan --reap --grace 300`;
    const shell = spawn('/bin/sh', ['-c', script, join(dir, 'cgroup.procs')], { stdio: 'ignore' });
    await jar.adopt(shell.pid!);
    const exit = await Promise.race([new Promise<number | null>((resolve) => shell.on('exit', resolve)), new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 20_000))]);
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'latin1').split('\n').filter(Boolean)) await jar.adopt(Number(pid));
    expect(/^frozen 0$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1')), 'the group is not frozen').toBe(true);
    expect(exit).toBe(0);
  });

  it('a group left by a run that is gone (rtrack SIGKILLed): scan lists it, its members are certain with cgroup evidence, scan --reap removes both', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(status.pid)));
    const tag = formatTaskTag({ ...status, pidNamespace: reader.readPidNamespace!(process.pid)!.namespace }, 'dead1');
    const dir = join((where as { parent: string }).parent, `rtrack-${tag}`);
    mkdirSync(dir);
    groupsMade.push(dir);
    // a process placed in it the way a run places its task, with a scrubbed environment
    const child = spawn('/bin/sh', ['-c', 'echo 0 > "$0" && exec env -i sleep 646', join(dir, 'cgroup.procs')], { stdio: 'ignore', detached: true });
    await waitFor(() => readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim() !== '');
    await jar.adopt(child.pid!);
    const scan = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    expect(scan.leftoverCgroups).toContainEqual({ path: dir, tag, members: 1, runOver: true });
    const group = scan.certain.find((g) => g.tag === tag)!;
    expect(group.processes.map((p) => [p.pid, p.evidence])).toEqual([[child.pid, ['cgroup']]]);
    const reap = await runCli(['scan', '--reap', '--grace', '300']);
    expect(reap.stdout).toContain(`removed the leftover cgroup ${dir}`);
    expect(existsSync(dir)).toBe(false);
    groupsMade.splice(groupsMade.indexOf(dir), 1);
    expect(await waitFor(async () => !(await isAlive(child.pid!)))).toBe(true);
  });
});

describe.skipIf(!writable)('the placing shell is started before the before snapshot, and held until it is taken', () => {
  /** A Linux reader whose first table read (the before snapshot) runs `during` once the table is read. */
  function duringBeforeSnapshot(during: (table: Awaited<ReturnType<PlatformReader['readProcessTable']>>) => Promise<void>): PlatformReader {
    let first = true;
    return {
      ...reader,
      readProcessTable: async (options) => {
        const table = await reader.readProcessTable(options);
        if (first) {
          first = false;
          await during(table);
        }
        return table;
      },
    };
  }

  it('it moves into the group while the snapshot is taken, runs the command only after it, and is not counted in it', async () => {
    const marker = join(tempDir('held'), 'ran');
    let seen: { shell?: number; group?: string; ranEarly?: boolean; listed?: number } = {};
    const during = duringBeforeSnapshot(async (table) => {
      const shell = table.processes.find((p) => p.ppid === process.pid && p.commandLine?.includes(marker));
      seen = { shell: shell?.pid, listed: table.processes.length };
      if (!shell) return;
      // time enough for it to move itself, and to run the command if it were not held
      await waitFor(() => groupOf(shell.pid) !== groupOf(process.pid), 3000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen.group = groupOf(shell.pid);
      seen.ranEarly = existsSync(marker);
    });
    const report = await runTracked('touch', [marker], { reader: during, logger: silentLogger, stdio: 'ignore' });
    expect(seen.shell).toBeGreaterThan(0);
    expect(`${mount}${seen.group}`).toBe(report.cgroup?.path);
    expect(seen.ranEarly).toBe(false);
    expect(existsSync(marker)).toBe(true);
    expect(report.exitCode).toBe(0);
    expect(report.before?.processCount).toBe(seen.listed! - 1);
    expect(report.cgroup?.removed).toBe(true);
  });

  it('aborted while the snapshot is taken: the held shell exits without running the command, and the group is removed', async () => {
    const marker = join(tempDir('held-abort'), 'ran');
    const controller = new AbortController();
    let shell: number | undefined;
    const during = duringBeforeSnapshot(async (table) => {
      shell = table.processes.find((p) => p.ppid === process.pid && p.commandLine?.includes(marker))?.pid;
      controller.abort();
    });
    const report = await runTracked('touch', [marker], { reader: during, abortSignal: controller.signal, logger: silentLogger, stdio: 'ignore' });
    expect(shell).toBeGreaterThan(0);
    expect(report).toMatchObject({ stoppedBy: 'abort', error: 'aborted before the task started', exitCode: null });
    expect(await isAlive(shell!)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join((where as { parent: string }).parent, `rtrack-${report.tag}`))).toBe(false);
  });
});

describe.skipIf(!writable)('as an unprivileged user (nobody)', () => {
  const forNobody = packageForOtherUsers();
  const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

  it('--cgroup required without a delegated subtree: one line, exit 2, the command not started', async () => {
    const marker = join(tempDir('cgroup-nobody'), 'started');
    const dir = join(marker, '..');
    spawnSync('chmod', ['0777', dir]);
    const r = spawnSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, forNobody.rtrack, 'run', '--cgroup', 'required', '--', 'touch', marker], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/^rtrack: --cgroup required: .* not writable by this user .*the command was not started$/);
    expect(existsSync(marker)).toBe(false);
  });

  it('inside a subtree delegated to nobody, containment works', async () => {
    const delegated = join(mount!, `rt-delegated-${process.pid}-${Date.now()}`);
    mkdirSync(delegated);
    groupsMade.push(delegated);
    for (const file of ['', 'cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control']) chownSync(join(delegated, file), 65534, 65534);
    // Placed in the delegated group by root (as a service manager would), then it becomes nobody.
    const script = `echo 0 > ${delegated}/cgroup.procs && exec ${NOBODY.join(' ')} "$0" "$@"`;
    const r = spawnSync('/bin/sh', ['-c', script, process.execPath, forNobody.rtrack, 'run', '--cgroup', 'required', '--reap', '--grace', '300', '--report', '-', '--', 'bash', '-c', 'env -i setsid bash -c "(exec -a nobody-647 sleep 647 &) &"; sleep 0.05'], { encoding: 'utf8', cwd: '/' });
    expect(r.status, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.cgroup?.path.startsWith(`${delegated}/rtrack-`)).toBe(true);
    const leak = report.orphans.find((p) => p.command === 'nobody-647 647');
    expect(leak?.evidence).toContain('cgroup');
    expect(report.reaped?.find((o) => o.pid === leak!.pid)?.result).toMatch(/^(terminated|killed)$/);
    expect(report.cgroup?.removed).toBe(true);
    forNobody.cleanup();
  });
});
