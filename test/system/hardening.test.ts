// Hostile names, churn, permissions, reports that are never lost, bad input.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runTracked, silentLogger, takeSnapshot, type ProcessSnapshot, type ScanReport, type TaskReport } from '../../src/index.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { RTRACK, runCli, startCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const reader = createLinuxReader();
const dir = tempDir('hard');
chmodSync(dir, 0o777); // the unprivileged user writes here too
let n = 0;
const path = (name: string): string => join(dir, `${++n}-${name}`);
const isRoot = process.getuid?.() === 0;
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
// The checkout may be closed to nobody (cloned under /root): then the package is staged for it.
const forNobody = packageForOtherUsers();
afterAll(() => {
  forNobody.cleanup();
});

describe('hostile process names', () => {
  it('a process named ") 1 1 (" keeps its real parent', async () => {
    const child = jar.spawn('python3', ['-c', 'import ctypes, time; ctypes.CDLL(None).prctl(15, b") 1 1 (", 0, 0, 0); print("named", flush=True); time.sleep(300)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const table = await reader.readProcessTable();
    const me = table.processes.find((p) => p.pid === child.pid)!;
    expect(me.name).toBe(') 1 1 (');
    expect(me.ppid).toBe(process.pid);
    expect(readFileSync(`/proc/${child.pid}/stat`, 'latin1')).toContain('() 1 1 ()');
    const snapshot = await takeSnapshot();
    expect(snapshot.processes.find((p) => p.pid === child.pid)).toMatchObject({ ppid: process.pid });
  });

  it('names with spaces, newlines and non-UTF-8 bytes', async () => {
    const names = ['a b c', 'x\\ny', '\\xff\\xfe(\\x80)'];
    for (const name of names) {
      const child = jar.spawn('python3', ['-c', `import ctypes, time; ctypes.CDLL(None).prctl(15, b"${name}", 0, 0, 0); print("named", flush=True); time.sleep(300)`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const me = (await reader.readProcessTable()).processes.find((p) => p.pid === child.pid)!;
      expect(me.ppid).toBe(process.pid);
      expect(me.name.isWellFormed()).toBe(true);
    }
  });

  it('a command line that holds newlines and escape sequences is shown on one line, escaped', async () => {
    // Printed raw, such a command would forge a process row and recolour the terminal.
    const hostile = 'evil\n   1 FAKE 1.0 MB \x1b[31mred\x1b[0m \u202eexe.txt';
    const [pid] = await jar.orphan(`exec -a $'${hostile.replace(/\n/g, '\\n').replace(/\x1b/g, '\\e')}' sleep 300 >/dev/null 2>&1 & echo $!`);
    const r = await runCli(['snapshot']);
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((line) => line.includes('evil'));
    expect(rows).toEqual([expect.stringMatching(new RegExp(`^\\s*${pid}\\s+\\d+\\s.*evil\\\\n   1 FAKE 1\\.0 MB \\\\x1b\\[31mred\\\\x1b\\[0m \\\\u202eexe\\.txt 300$`))]);
    expect(r.stdout).not.toContain('\x1b');
    const json = JSON.parse((await runCli(['snapshot', '--json'])).stdout) as ProcessSnapshot;
    expect(json.processes.find((p) => p.pid === pid)!.command).toBe(`${hostile} 300`); // machines get the exact text
  });
});

describe('churn', () => {
  it('snapshots back to back while processes start and end as fast as they can', async () => {
    // Churns until six snapshots are taken (a count, not a time: a machine with thousands of other
    // processes takes longer a snapshot); bounded anyway, at 30,000 processes or 30 seconds.
    const churn = jar.spawn('bash', ['-c', 'end=$((SECONDS+30)); for i in $(seq 30000); do /bin/true & [ $SECONDS -ge $end ] && break; done; wait'], { stdio: 'ignore' });
    const done = new Promise((resolve) => churn.on('exit', resolve));
    let finished = false;
    void done.then(() => (finished = true));
    let snapshots = 0;
    let previous: ProcessSnapshot | undefined;
    while (!finished && snapshots < 6) {
      const snapshot = await takeSnapshot({ previous, environment: 'new' });
      for (const p of snapshot.processes) {
        expect(Number.isInteger(p.pid) && p.pid > 0).toBe(true);
        expect(Number.isInteger(p.ppid) && p.ppid >= 0).toBe(true);
        expect(Number.isFinite(p.memoryMB) && p.memoryMB >= 0).toBe(true);
        expect(Number.isInteger(p.startTime) && p.startTime >= 0).toBe(true);
        expect(typeof p.command).toBe('string');
        expect(p.isMCP).toBe(/(playwright|chromium|chrome|firefox|webkit|puppeteer|selenium)/i.test(p.command) || p.isMCP);
      }
      expect(new Set(snapshot.processes.map((p) => p.pid)).size).toBe(snapshot.processes.length);
      previous = snapshot;
      snapshots++;
    }
    expect(snapshots).toBe(6); // all taken while it churned
    churn.kill('SIGKILL');
    await done;
    // the helper leaves nothing behind: no process of ours is left
    const after = await takeSnapshot();
    expect(after.processes.filter((p) => p.ppid === churn.pid)).toEqual([]);
  });
});

describe('permissions (as an unprivileged user)', () => {
  it.skipIf(!isRoot)('snapshot and scan see other users\' processes without their environments, and do not fail', async () => {
    const owner = jar.spawn('sleep', ['60']);
    const status = (await reader.readStatus(owner.pid!))!;
    owner.kill('SIGKILL');
    await waitFor(async () => (await reader.readStatus(status.pid))?.alive !== true);
    const [rootLeak] = await jar.orphan('sleep 440 >/dev/null 2>&1 & echo $!', { ...process.env, RESOURCE_TRACKER_TASK: formatTaskTag(status, 'cafe') });

    const snap = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, forNobody.rtrack, 'snapshot', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', (code) => resolve({ code, out }));
    });
    expect(snap.code).toBe(0);
    const processes = (JSON.parse(snap.out) as { processes: { pid: number }[] }).processes;
    expect(processes.some((p) => p.pid === 1)).toBe(true);
    expect(processes.some((p) => p.pid === rootLeak)).toBe(true);

    const scan = await new Promise<{ code: number | null; out: string }>((resolve) => {
      // (root's processes are not nobody's: shown with --all-users only, issue 34)
      const c = spawn(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, forNobody.rtrack, 'scan', '--json', '--all', '--all-users'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', (code) => resolve({ code, out }));
    });
    expect(scan.code).toBe(0);
    const report = JSON.parse(scan.out) as ScanReport;
    // root's environment is unreadable to nobody: the tagged process is not a certain leak for it
    expect(report.certain.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(rootLeak);
    expect(report.suspected.flatMap((g) => g.processes.map((p) => p.pid))).toContain(rootLeak);
  });

  it.skipIf(!isRoot)('reaping another user\'s process: refused as unreadable (its environment may say it is kept or in use), not a crash', async () => {
    const [victim] = await jar.orphan('sleep 441 >/dev/null 2>&1 & echo $!');
    const script = `
      const { reapOrphans, takeSnapshot } = await import(${JSON.stringify(forNobody.library)});
      const target = (await takeSnapshot()).processes.filter((p) => p.pid === ${victim});
      console.log(JSON.stringify(await reapOrphans(target, { graceMs: 100, allowUnattributed: true })));`;
    const out = await new Promise<string>((resolve) => {
      const c = spawn(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout.on('data', (d: Buffer) => (text += d.toString()));
      c.on('exit', () => resolve(text));
    });
    expect(JSON.parse(out)).toEqual([{ pid: victim, command: 'sleep 441', result: 'unreadable', signals: [], reason: 'its environment cannot be read: it may be kept or belong to a live session' }]);
    expect(await isAlive(victim!)).toBe(true);
  });

  it.skipIf(!isRoot)('an unreadable config is one clear line and exit 2', async () => {
    const config = path('secret.yaml');
    writeFileSync(config, 'diagnostics: {}\n');
    chmodSync(config, 0o600);
    const marker = path('started');
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, forNobody.rtrack, 'run', '--config', config, '--', 'touch', marker], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('exit', (code) => resolve({ code, err }));
    });
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(`rtrack: ${config}: cannot read config: permission denied`);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('reports are never lost', () => {
  it('the command cannot start: the report is written with an error, exit 127', async () => {
    const report = path('report.json');
    const r = await runCli(['run', '--report', report, '--', '/nonexistent/agent']);
    expect(r.code).toBe(127);
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ exitCode: 127, error: '/nonexistent/agent: command not found', orphans: [] });
  });

  it.skipIf(!isRoot)('the after snapshot fails (/proc gone): the report is written with an error, exit 4', async () => {
    // In a private mount namespace the task unmounts /proc, so rtrack cannot read it afterwards.
    const report = path('report.json');
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn('unshare', ['-m', '--propagation', 'private', process.execPath, RTRACK, 'run', '--report', report, '--', 'umount', '-l', '/proc'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('exit', (code) => resolve({ code, err }));
    });
    expect(r.code).toBe(4);
    const json = JSON.parse(readFileSync(report, 'utf8')) as TaskReport;
    expect(json.exitCode).toBe(0);
    expect(json.error).toBe('after snapshot: cannot take a process snapshot: /proc lists no processes (is procfs mounted?)');
    expect(json.before).not.toBeNull();
    expect(json.after).toBeNull();
    expect(r.err).toMatch(/ERROR tracking incomplete error="after snapshot: /);
  });

  it('library: a failing after snapshot still resolves with the report', async () => {
    const real = createLinuxReader();
    let reads = 0;
    const flaky = { ...real, readProcessTable: async (o?: Parameters<typeof real.readProcessTable>[0]) => (++reads > 1 ? Promise.reject(new Error('EMFILE: too many open files')) : real.readProcessTable(o)) };
    const report = await runTracked('true', [], { reader: flaky, logger: silentLogger });
    expect(report.exitCode).toBe(0);
    expect(report.error).toBe('after snapshot: cannot take a process snapshot: EMFILE: too many open files');
  });

  it('SIGTERM while reporting: the report is still written, with an error, and the exit status says so', async () => {
    const report = path('report.json');
    const run = startCli(['run', '--reap', '--grace', '1500', '--report', report, '--', 'bash', '-c', `(trap '' TERM; exec sleep 442) >/dev/null 2>&1 & echo "leak $!"`]);
    const leak = Number(/leak (\d+)/.exec(await run.waitForStdout('leak'))![1]);
    await jar.adopt(leak);
    await new Promise((r) => setTimeout(r, 700)); // inside the grace period: rtrack is reporting
    run.child.kill('SIGTERM');
    const r = await run.result;
    expect(r.code).toBe(143);
    const json = JSON.parse(readFileSync(report, 'utf8')) as TaskReport;
    expect(json.error).toBe('rtrack received SIGTERM while reporting');
    expect(json.reaped?.[0]).toMatchObject({ pid: leak, result: 'killed' });
  });
});

describe('bad input: one clear line, exit 2, the task is not started', () => {
  const nonexistentDir = join(dir, 'no', 'such', 'dir');
  const configs: Record<string, string> = {
    'wrong-type.yaml': 'diagnostics:\n  resource_tracking:\n    memory_threshold_mb: "lots"\n',
    'not-a-map.yaml': 'diagnostics: [1, 2]\n',
    'keep-not-list.yaml': 'diagnostics:\n  resource_tracking:\n    keep: sccache\n',
  };
  for (const [name, text] of Object.entries(configs)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'a-directory.yaml'), { recursive: true });

  it.each([
    [['--threshold', 'NaN'], /--threshold/],
    [['--threshold', ''], /--threshold/],
    [['--grace', '-1'], /--grace/],
    [['--grace', 'soon'], /--grace/],
    [['--log-format', 'yaml'], /--log-format/],
    [['--report', join(nonexistentDir, 'r.json')], /--report .*directory .* does not exist/],
    [['--report', dir], /--report .*is a directory/],
    [['--metrics-file', join(nonexistentDir, 'm.prom')], /--metrics-file .*does not exist/],
    [['--keep', '+'], /--keep\[0\]: invalid regular expression/],
    [['--config', join(dir, 'wrong-type.yaml')], /wrong-type\.yaml: diagnostics\.resource_tracking\.memory_threshold_mb/],
    [['--config', join(dir, 'not-a-map.yaml')], /not-a-map\.yaml: diagnostics/],
    [['--config', join(dir, 'keep-not-list.yaml')], /keep-not-list\.yaml: diagnostics\.resource_tracking\.keep/],
    [['--config', join(dir, 'a-directory.yaml')], /a-directory\.yaml: cannot read config: is a directory/],
    [['--config', join(dir, 'missing.yaml')], /missing\.yaml: cannot read config: no such file/],
    // An option left without its value takes the `--` after it: no file named `--` is written or read.
    [['--config'], /option '-c, --config <file>' is missing its value/],
    [['--report'], /option '--report <file>' is missing its value/],
    [['--metrics-file'], /option '--metrics-file <path>' is missing its value/],
    [['--keep', 'sccache', '--keep'], /option '--keep <regex>' is missing its value/],
    // A flag that only changes what --reap does means nothing without it.
    [['--dry-run'], /--dry-run only applies with --reap/],
    [['--grace', '3 s'], /--grace.*expected a duration such as 500ms, 3s or 1m \(a bare number is milliseconds\)/],
  ])('run %j', async (options, pattern) => {
    const marker = path('started');
    const r = await runCli(['run', ...options, '--', 'touch', marker], { cwd: dir });
    expect(existsSync(join(dir, '--'))).toBe(false);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rtrack: /);
    expect(lines[0]).toMatch(pattern);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    [['snapshot', '--sort', 'size'], /--sort/],
    [['scan', '--match', '('], /--match/],
    [['scan', '--reap', '--match', '(', '--yes'], /--match: invalid regular expression/],
    [['scan', '--grace', 'x'], /--grace/],
    [['watch', '--port', '-1'], /--port/],
    [['watch', '--interval', '0'], /--interval/],
    [['watch', '--config', '/nonexistent.yaml'], /nonexistent\.yaml: cannot read config/],
    [['demo', '--bogus'], /unknown option/],
    [['scan', '--dry-run'], /--dry-run only applies with --reap/],
    [['scan', '--yes'], /--yes only applies with --reap/],
    [['sessions', '--limit', 'x'], /--limit.*expected a whole number from 1/],
    [['sessions', '--limit', '0'], /--limit/],
    [['watch', '--linger', 'soon'], /--linger.*expected a duration such as 500ms, 15s or 2m/],
    [['session', 'start', '--agent', 'claude-code', '--pid', 'x'], /--pid.*expected a process id/],
  ])('%j', async (args, pattern) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
  });
});
