// Never blame or kill on a read that failed, never on heuristic evidence alone, never lose a report.
// Each test here failed before the change it covers.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  reapOrphans,
  ResourceTracker,
  scanMachine,
  silentLogger,
  takeSnapshot,
  TASK_ENV_VAR,
  type AttributedProcess,
  type PlatformReader,
  type ProcessStatus,
  type ScanReport,
  type TaskReport,
} from '../../src/index.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { ProcessUnreadableError } from '../../src/platform/types.js';
import { Lineage } from '../../src/tracking/lineage.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { pidsIn, runCli, startCli } from '../helpers/cli.js';
import { fakeReader, memoryStream } from '../helpers/fake-reader.js';
import { isAlive, ProcessJar, readIdentity, waitFor } from '../helpers/processes.js';
import { reportFiles } from '../helpers/reports.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const { dir, reportPath, readReport } = reportFiles('trust');
const reader = createLinuxReader();
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const INTERNAL = fileURLToPath(new URL('../../dist/internal.js', import.meta.url));
/** A pid above any pid_max: kill(pid, 0) says ESRCH. */
const NEVER_A_PID = 99_999_999;

/** A recorded /proc entry: stat (or, for `unreadable`, a directory where stat should be: reading it fails with EISDIR, not ENOENT), cmdline, environ. */
function fakeProc(root: string, pid: number, options: { ppid?: number; start?: number; state?: string; threads?: number; cmdline?: string; env?: Record<string, string>; unreadable?: boolean }): void {
  const at = join(root, String(pid));
  mkdirSync(at, { recursive: true });
  const { ppid = 1, start = pid * 10, state = 'S', threads = 1 } = options;
  if (options.unreadable) mkdirSync(join(at, 'stat'));
  else writeFileSync(join(at, 'stat'), `${pid} (proc) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 ${threads} 0 ${start} 0 0 18446744073709551615\n`);
  writeFileSync(join(at, 'cmdline'), `${(options.cmdline ?? `proc${pid}`).split(' ').join('\0')}\0`);
  writeFileSync(join(at, 'environ'), Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}\0`).join(''));
}

describe('a failed read is not a dead process', () => {
  it('scan: a tag whose owner is listed but unreadable is not a certain leak; one whose owner is gone is', async () => {
    const root = tempDir('proc');
    try {
      fakeProc(root, 400, { unreadable: true }); // the owner: listed, its stat cannot be read (EISDIR here; EACCES under hidepid)
      fakeProc(root, 300, { cmdline: 'node dev-server.js', env: { [TASK_ENV_VAR]: formatTaskTag({ pid: 400, startTime: 4000 }, 'aa') } });
      fakeProc(root, 310, { cmdline: 'node left-over.js', env: { [TASK_ENV_VAR]: formatTaskTag({ pid: NEVER_A_PID, startTime: 4000 }, 'bb') } });
      const scan = await scanMachine({ reader: createLinuxReader(root) });
      expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).toEqual([310]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('readStatus of an unreadable entry throws ProcessUnreadableError (not "gone"); of a missing one, undefined', async () => {
    const root = tempDir('proc');
    try {
      fakeProc(root, 400, { unreadable: true });
      const fake = createLinuxReader(root);
      await expect(fake.readStatus(400)).rejects.toBeInstanceOf(ProcessUnreadableError);
      expect(await fake.readStatus(401)).toBeUndefined();
      expect((await fake.readStatuses([400, 401])).get(400)).toBeNull();
      expect((await fake.readStatuses([400, 401])).has(401)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a real EMFILE: with every descriptor in use, nothing reads as gone and nothing is signalled', async () => {
    const [victim] = await jar.orphan('sleep 470 >/dev/null 2>&1 & echo $!');
    const [info] = (await takeSnapshot()).processes.filter((p) => p.pid === victim);
    // The child takes every descriptor its limit allows, then asks.
    const script = `
      import { openSync } from 'node:fs';
      const { reapOrphans, scanMachine } = await import(${JSON.stringify(DIST)});
      const { platformReader } = await import(${JSON.stringify(INTERNAL)});
      const reader = platformReader();
      const held = [];
      try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (err) { if (err.code !== 'EMFILE') throw err; }
      const out = { held: held.length };
      try { out.status = await reader.readStatus(${victim}); } catch (err) { out.status = err.name + ' ' + err.code; }
      out.reaped = await reapOrphans([${JSON.stringify({ ...info, evidence: ['tag'] })}], { reader, graceMs: 50, killWaitMs: 50 });
      try { await scanMachine({ reader }); out.scan = 'reported'; } catch (err) { out.scan = 'failed: ' + err.message; }
      console.log(JSON.stringify(out));`;
    const r = await new Promise<{ out: string; err: string }>((resolve) => {
      const c = spawn('prlimit', ['--nofile=512:512', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('exit', () => resolve({ out, err }));
    });
    const result = JSON.parse(r.out) as { held: number; status: string; reaped: { result: string; signals: string[] }[]; scan: string };
    expect(result.held).toBeGreaterThan(10);
    expect(result.status).toBe('ProcessUnreadableError EMFILE');
    expect(result.reaped).toEqual([expect.objectContaining({ result: 'unreadable', signals: [] })]);
    expect(result.scan).toMatch(/^failed: .*EMFILE/);
    expect(await isAlive(victim!)).toBe(true);
  });

  it('a process whose main thread exited while others run is alive: reaped with a signal, not "gone"', async () => {
    const child = jar.spawn('python3', ['-c', 'import threading, time, ctypes\nthreading.Thread(target=lambda: time.sleep(300)).start()\nprint("ready", flush=True)\nctypes.CDLL(None).pthread_exit(None)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    expect(await waitFor(() => readFileSync(`/proc/${child.pid}/stat`, 'latin1').includes(') Z '))).toBe(true);
    expect(await reader.readStatus(child.pid!)).toMatchObject({ alive: true });
    const [info] = (await takeSnapshot()).processes.filter((p) => p.pid === child.pid);
    const [outcome] = await reapOrphans([{ ...info!, evidence: ['tag'] }], { graceMs: 2000 });
    expect(outcome).toMatchObject({ result: 'terminated', signals: ['SIGTERM'] });
  });
});

describe('a run ends when its task ends, even while its host lives on', () => {
  it('one host runs two tracked tasks in a row: the first task\'s leak is certain in scan, the running second task\'s is not', async () => {
    const tracker = new ResourceTracker({ lineageIntervalMs: 50 }, silentLogger);
    await tracker.snapshotBefore();
    const first = spawn('bash', ['-c', 'sleep 471 >/dev/null 2>&1 & echo $!'], { env: tracker.taskEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
    const firstTag = tracker.tag!;
    expect(firstTag).toMatch(/^rt3\./);
    let out = '';
    first.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => first.on('close', resolve));
    const [firstLeak] = pidsIn(out);
    await jar.adopt(firstLeak!);
    await tracker.snapshotAfter();
    expect((await tracker.analyze()).orphans.map((p) => p.pid)).toEqual([firstLeak]);
    tracker.reset();

    // The second task is still running (its run is in progress) when the machine is scanned.
    await tracker.snapshotBefore();
    const second = jar.spawn('bash', ['-c', 'sleep 472 >/dev/null 2>&1 & echo $!; exec sleep 473'], { env: tracker.taskEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
    const secondLeak = Number(await new Promise<string>((resolve) => second.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
    await jar.adopt(secondLeak);
    const scan = await scanMachine();
    const certain = scan.certain.flatMap((g) => g.processes.map((p) => p.pid));
    expect(certain).toContain(firstLeak);
    expect(certain).not.toContain(secondLeak);
    expect(certain).not.toContain(second.pid);
    expect(scan.certain.find((g) => g.tag === firstTag)?.owner).toMatchObject({ pid: process.pid, registered: true });
    tracker.reset();
    // Now the second run is over too: its leak (and its still running task) are certain.
    const later = (await scanMachine()).certain.flatMap((g) => g.processes.map((p) => p.pid));
    expect(later).toEqual(expect.arrayContaining([secondLeak, second.pid!]));
  });

  it('a tag written without a readable PID namespace says "unknown", and scan never takes its owner for gone', async () => {
    const blind: PlatformReader = { ...reader, readPidNamespace: () => undefined };
    const tracker = new ResourceTracker({}, silentLogger, { reader: blind });
    const tag = tracker.taskEnv()[TASK_ENV_VAR]!;
    tracker.reset();
    expect(tag).toMatch(/^rt[23]\.\d+\.\d+\.x\.[0-9a-f]+$/);
    const goneOwnerTag = tag.replace(/^(rt[23])\.\d+\./, `$1.${NEVER_A_PID}.`);
    const [leak] = await jar.orphan('sleep 474 >/dev/null 2>&1 & echo $!', { ...process.env, [TASK_ENV_VAR]: goneOwnerTag });
    const scan = await scanMachine();
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(leak);
  });
});

describe('reaping needs attributing evidence', () => {
  it('plain records (the seed\'s heuristic list) are not signalled unless allowUnattributed is given', async () => {
    const [a, b] = await jar.orphan('sleep 475 >/dev/null 2>&1 & echo $!; sleep 476 >/dev/null 2>&1 & echo $!');
    const infos = (await takeSnapshot()).processes.filter((p) => p.pid === a || p.pid === b);
    const sent: number[] = [];
    const refused = await reapOrphans(infos, { graceMs: 50, kill: (pid) => void sent.push(pid) });
    expect(refused.map((o) => o.result)).toEqual(['unattributed', 'unattributed']);
    const heuristicOnly: AttributedProcess[] = infos.map((p) => ({ ...p, evidence: ['heuristic'] }));
    expect((await reapOrphans(heuristicOnly, { graceMs: 50, kill: (pid) => void sent.push(pid) })).map((o) => o.result)).toEqual(['unattributed', 'unattributed']);
    expect(sent).toEqual([]);
    expect(await isAlive(a!)).toBe(true);
    const allowed = await reapOrphans(infos, { graceMs: 1000, allowUnattributed: true });
    expect(allowed.map((o) => o.result)).toEqual(['terminated', 'terminated']);
  });

  it('lineage: children read under a pid that now belongs to another process lend it nothing', async () => {
    // The tree: root 10 → child 20. Between reading 20's children and re-checking it, pid 20 is reused.
    const statuses = new Map<number, ProcessStatus>([
      [10, { pid: 10, ppid: 1, startTime: 100, alive: true }],
      [20, { pid: 20, ppid: 10, startTime: 200, alive: true }],
    ]);
    let childrenReads = 0;
    const fake: PlatformReader = {
      ...fakeReader([[]]),
      readStatus: async (pid) => statuses.get(pid),
      readStatuses: async (pids) => new Map(pids.filter((p) => statuses.has(p)).map((p) => [p, statuses.get(p)!])),
      readEnvMarkers: async () => ({ keep: false }),
      readChildren: async (pids) => {
        childrenReads++;
        if (pids.includes(10)) return [statuses.get(20)!];
        if (pids.includes(20)) {
          statuses.set(20, { pid: 20, ppid: 1, startTime: 900, alive: true }); // reused right after the read
          return [{ pid: 30, ppid: 20, startTime: 950, alive: true }];
        }
        return [];
      },
    };
    const lineage = new Lineage(fake, 10, 10_000);
    await lineage.start();
    await lineage.stop();
    expect(childrenReads).toBeGreaterThan(1);
    expect([...lineage.seen.values()].map((r) => r.pid).sort()).toEqual([10, 20]);
  });
});

describe('shared per-user daemons', () => {
  // The task waits a moment so that its background subshells have exec'd (before, they are forked copies of bash).
  const daemon = `(exec -a gpg-agent sleep 477) >/dev/null 2>&1 & echo $!; (exec -a 'ssh: /tmp/cm-u@host:22 [mux]' sleep 478) >/dev/null 2>&1 & echo $!; sleep 0.3`;

  it('a task that starts gpg-agent or an ssh ControlMaster leaves them kept, not orphans, and --reap leaves them alone', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--reap', '--grace', '500', '--report', report, '--', 'bash', '-c', daemon]);
    const pids = pidsIn(r.stdout);
    for (const pid of pids) await jar.adopt(pid);
    const json = readReport(report);
    expect(json.orphans).toEqual([]);
    expect(json.kept.map((p) => [p.pid, p.keepReason]).sort()).toEqual(pids.map((pid) => [pid, 'shared-daemon']).sort());
    expect(json.reaped).toEqual([]);
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);
    expect(r.stderr).toContain('rtrack: kept (declared to outlive the task, not touched): 2 processes');
  });

  it('keep_shared_daemons: false turns the list off', async () => {
    const config = join(dir, 'no-daemons.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    keep_shared_daemons: false\n');
    const report = reportPath();
    const r = await runCli(['run', '--config', config, '--report', report, '--', 'bash', '-c', daemon]);
    const pids = pidsIn(r.stdout);
    for (const pid of pids) await jar.adopt(pid);
    expect(readReport(report).orphans.map((p) => p.pid).sort()).toEqual([...pids].sort());
  });

  it('rtrack run --help lists them', async () => {
    const r = await runCli(['run', '--help']);
    for (const name of ['ssh ControlMaster', 'gpg-agent', 'ssh-agent', 'dbus-daemon', 'keyboxd', 'conmon', 'Gradle daemon', 'Bazel server', 'Kotlin daemon']) expect(r.stdout).toContain(name);
  });
});

describe('never crash the host, never lose a report', () => {
  it('a failing lineage poll is logged and counted; the after snapshot and verdicts still happen', async () => {
    const flaky: PlatformReader = {
      ...reader,
      readChildren: async () => {
        throw new Error('EMFILE: too many open files, scandir');
      },
    };
    const out = memoryStream();
    const tracker = new ResourceTracker({ lineageIntervalMs: 20 }, createLogger({ stream: out }), { reader: flaky });
    let unhandled: unknown;
    const onUnhandled = (reason: unknown): void => void (unhandled = reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await tracker.snapshotBefore();
      const task = spawn('bash', ['-c', 'sleep 0.3'], { env: tracker.taskEnv(), stdio: 'ignore' });
      await tracker.followTask(task.pid!);
      await new Promise((resolve) => task.on('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await tracker.snapshotAfter()).toBeDefined();
      expect((await tracker.analyze()).orphans).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      tracker.reset();
    }
    expect(unhandled).toBeUndefined();
    expect(out.lines.filter((l) => l.startsWith('WARN following the task\'s process tree failed'))).toHaveLength(1);
  });

  it('the report is written before reaping; a second Ctrl+C skips the grace period, still kills, and the report says what happened', async () => {
    const report = reportPath();
    const run = startCli(['run', '--reap', '--grace', '20000', '--report', report, '--', 'bash', '-c', `(trap '' TERM; exec sleep 479) >/dev/null 2>&1 & echo "leak $!"`]);
    const leak = Number(/leak (\d+)/.exec(await run.waitForStdout('leak'))![1]);
    await jar.adopt(leak);
    // While rtrack waits out the grace period, the report is already there.
    expect(await waitFor(() => {
      try {
        return readReport(report).orphans.some((p) => p.pid === leak);
      } catch {
        return false;
      }
    })).toBe(true);
    expect(readReport(report).reaped).toEqual([]);
    const interrupted = Date.now();
    run.child.kill('SIGINT');
    const r = await run.result;
    expect(Date.now() - interrupted).toBeLessThan(10_000);
    expect(r.code).toBe(130);
    const json = readReport(report);
    expect(json.reaped).toEqual([expect.objectContaining({ pid: leak, result: 'killed', signals: ['SIGTERM', 'SIGKILL'] })]);
    expect(json.error).toBe('rtrack received SIGINT while reporting');
    expect(await isAlive(leak)).toBe(false);
  });

  it('a report that cannot be written: one line on stderr, and the exit status stays the command\'s', async () => {
    const gone = join(dir, `vanishing-${Date.now()}`);
    mkdirSync(gone);
    const r = await runCli(['run', '--report', join(gone, 'r.json'), '--', 'bash', '-c', `rmdir ${gone}; exit 7`]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(new RegExp(`^rtrack: cannot write the report to ${gone}/r\\.json: .*ENOENT`, 'm'));
  });

  it('a terminal that hung up (EIO) does not crash rtrack: the task\'s report is still written', async () => {
    // rtrack's stdin, stdout and stderr are a pty whose master is closed while the task runs.
    const report = reportPath();
    const script = `
import os, pty, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave)
os.close(slave)
time.sleep(0.3)
os.close(master)
print(p.wait())`;
    const out = await new Promise<string>((resolve) => {
      const c = spawn('python3', ['-c', script, process.execPath, fileURLToPath(new URL('../../bin/rtrack.js', import.meta.url)), 'run', '--report', report, '--', 'bash', '-c', 'sleep 1; exit 5'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout.on('data', (d: Buffer) => (text += d.toString()));
      c.on('exit', () => resolve(text));
    });
    expect(out.trim()).toBe('5'); // the command's status: not a crash (Node 20 would abort at exit: -6)
    expect(readReport(report)).toMatchObject({ exitCode: 5, orphans: [] });
  });

  it('reaped is in the report whenever --reap was given, even with nothing to reap', async () => {
    const r = await runCli(['run', '--reap', '--report', '-', '--', 'true']);
    expect((JSON.parse(r.stdout) as TaskReport).reaped).toEqual([]);
    const dry = await runCli(['run', '--reap', '--dry-run', '--report', '-', '--', 'true']);
    expect((JSON.parse(dry.stdout) as TaskReport).reaped).toEqual([]);
  });
});

describe('scan --json prints its JSON in every mode', () => {
  it('--reap --dry-run, and --match without --yes (exit 1), each print one JSON document on stdout', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await readIdentity(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(status.pid)));
    const [certain] = await jar.orphan('sleep 480 >/dev/null 2>&1 & echo $!', { ...process.env, [TASK_ENV_VAR]: formatTaskTag(status, 'feed') });
    const [suspect] = await jar.orphan(`(exec -a 'npm exec mcp-server-trust-${'x'.repeat(110)}-named-here' sleep 481) >/dev/null 2>&1 & echo $!`);

    const dry = await runCli(['scan', '--json', '--reap', '--dry-run']);
    expect(dry.code).toBe(0);
    const dryJson = JSON.parse(dry.stdout) as ScanReport & { plan: { pid: number }[] };
    expect(dryJson.plan.map((p) => p.pid)).toContain(certain);
    expect(await isAlive(certain!)).toBe(true);

    // --match reads the command line as keep patterns do: the name is past the 100th character.
    const named = await runCli(['scan', '--json', '--reap', '--match', 'named-here']);
    expect(named.code).toBe(1);
    const namedJson = JSON.parse(named.stdout) as ScanReport & { plan: { pid: number }[] };
    expect(namedJson.plan.map((p) => p.pid)).toEqual(expect.arrayContaining([certain, suspect]));
    expect(await isAlive(suspect!)).toBe(true);
    expect(await isAlive(certain!)).toBe(true);
  });
});

describe('--mcp-only means one thing', () => {
  it('non-MCP orphans are left out of orphans, the summary, --fail-on-orphans, --reap and the metrics; the report keeps them apart', async () => {
    const report = reportPath();
    const metrics = join(dir, 'mcp-only.prom');
    const task = `(exec -a chromium sleep 482) >/dev/null 2>&1 & echo $!; sleep 483 >/dev/null 2>&1 & echo $!; sleep 0.3`;
    const r = await runCli(['run', '--mcp-only', '--reap', '--grace', '500', '--fail-on-orphans', '--metrics-file', metrics, '--report', report, '--', 'bash', '-c', task]);
    const [browser, plain] = pidsIn(r.stdout);
    await jar.adopt(browser!);
    await jar.adopt(plain!);
    const json = readReport(report);
    expect(json.orphans.map((p) => p.pid)).toEqual([browser]);
    expect(json.nonMcpOrphans?.map((p) => p.pid)).toEqual([plain]);
    expect(json.reaped?.map((o) => o.pid)).toEqual([browser]);
    expect(await isAlive(plain!)).toBe(true);
    expect(r.code).toBe(3); // the MCP orphan
    expect(r.stderr).toContain('rtrack: the task left running: 1 process');
    expect(r.stderr).not.toMatch(/sleep 483/);
    expect(readFileSync(metrics, 'utf8')).toMatch(/^rtrack_run_orphans 1$/m);

    const clean = await runCli(['run', '--mcp-only', '--fail-on-orphans', '--', 'bash', '-c', 'sleep 484 >/dev/null 2>&1 & echo $!']);
    await jar.adopt(pidsIn(clean.stdout)[0]!);
    expect(clean.code).toBe(0); // only a non-MCP orphan: not a failure with --mcp-only
  });
});
