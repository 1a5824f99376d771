// What a leak costs: memory you get back (PSS, not RSS), CPU burned, ports held — read for the
// reported processes only, on real processes.
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { RTRACK, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { freePort } from '../helpers/ports.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { reportFiles } from '../helpers/reports.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const MB = 1024 * 1024;
const { reportPath, readReport } = reportFiles('cost');

/** A home of its own: nothing of the real user's config is read. */
function homeEnv(): NodeJS.ProcessEnv {
  const home = tempDir('cost-home');
  return { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_STATE_HOME: join(home, 'state') };
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** `rtrack run --report <file> -- bash -c script`: the report (its orphans adopted for cleanup first) and stderr. */
async function runLeaking(script: string): Promise<{ report: TaskReport; stderr: string }> {
  const path = reportPath();
  const r = await runCli(['run', '--report', path, '--', 'bash', '-c', script], { timeoutMs: 60_000 });
  const report = readReport(path);
  for (const p of report.orphans) await jar.adopt(p.pid);
  return { report, stderr: r.stderr };
}


describe('memory you get back', () => {
  it('a leaked parent that touched 200 MB and forked 3 sleeping children: RSS ≈ 800 MB, PSS ≈ 200 MB', async () => {
    // The children share the parent's 200 MB copy-on-write: each counts it whole in RSS, a quarter in PSS.
    const script = [
      'import os, sys, time',
      'data = bytearray(200 * 1024 * 1024)',
      'for i in range(0, len(data), 4096): data[i] = 1',
      'pids = [os.getpid()]',
      'for _ in range(3):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        time.sleep(300); os._exit(0)',
      '    pids.append(pid)',
      'print(" ".join(map(str, pids)), flush=True)',
      'time.sleep(300)',
    ].join('\n');
    const { report, stderr } = await runLeaking(`python3 -c '${script}' >/dev/null 2>&1 & sleep 2.5`);
    expect(report.orphans).toHaveLength(4);
    const rssMB = report.leakCost!.rssBytes / MB;
    const pssMB = report.leakCost!.pssMB;
    expect(rssMB).toBeGreaterThan(760);
    expect(rssMB).toBeLessThan(900);
    expect(pssMB).toBeGreaterThan(190); // 200 MB shared four ways, plus four small interpreters
    expect(pssMB).toBeLessThan(260);
    expect(report.leakCost!.pssUnknown).toBe(0);
    // the summary's headline is the PSS total, RSS beside it
    expect(stderr).toMatch(/rtrack: the task left running: 4 processes, (19\d|2[0-5]\d)\.\d MB PSS \(what ending it gives back\), RSS (7[6-9]\d|8\d\d)\.\d MB/);
  });
});

describe('numbers that add up', () => {
  /** Every `X MB PSS …, RSS Y MB` pair in a text, as [X, Y]. */
  const pairs = (text: string): [number, number][] => [...text.matchAll(/([\d.]+) MB PSS[^,\n]*, RSS ([\d.]+) MB/g)].map((m) => [Number(m[1]), Number(m[2])]);

  it('a leak still growing when it is measured: every PSS total rtrack prints or writes is at most the RSS beside it (run summary, report, scan, scan --json)', async () => {
    // Grows by 1 MB every 8 ms (up to 500 MB): the snapshot's RSS and the PSS read a moment later differ.
    const grow = ['import time', 'b = []', 'while len(b) < 500:', '    b.append(b"x" * (1 << 20)); time.sleep(0.008)', 'time.sleep(300)'].join('\n');
    const env = homeEnv();
    const path = reportPath();
    const run = await runCli(['run', '--report', path, '--', 'bash', '-c', `python3 -c '${grow}' >/dev/null 2>&1 & sleep 0.3`], { env, timeoutMs: 60_000 });
    const report = readReport(path);
    for (const p of report.orphans) await jar.adopt(p.pid);
    expect(report.orphans).toHaveLength(1);
    expect(report.leakCost!.pssUnknown).toBe(0);
    expect(report.leakCost!.pssBytes).toBeLessThanOrEqual(report.leakCost!.rssBytes);
    expect(report.leakCost!.pssBytes).toBeLessThanOrEqual(report.leakedMemoryBytes);
    for (const p of report.orphans) expect(p.cost!.pssBytes!).toBeLessThanOrEqual(p.cost!.rssBytes!);
    expect(pairs(run.stderr).length).toBeGreaterThan(0);
    for (const [pss, rss] of pairs(run.stderr)) expect(pss, run.stderr).toBeLessThanOrEqual(rss);

    const text = await runCli(['scan'], { env });
    expect(pairs(text.stdout).length).toBeGreaterThanOrEqual(2); // the headline and the group
    for (const [pss, rss] of pairs(text.stdout)) expect(pss, text.stdout).toBeLessThanOrEqual(rss);
    const scan = JSON.parse((await runCli(['scan', '--json'], { env })).stdout) as ScanReport;
    const group = scan.certain.find((g) => g.processes.some((p) => p.pid === report.orphans[0]!.pid))!;
    expect(group.cost!.pssBytes).toBeLessThanOrEqual(group.cost!.rssBytes);
    expect(group.cost!.pssBytes).toBeLessThanOrEqual(group.totalMemoryBytes);
    for (const p of group.processes) expect(p.cost!.pssBytes!).toBeLessThanOrEqual(p.cost!.rssBytes!);
    for (const kind of ['certain', 'suspected'] as const) expect(scan.leakTotals![kind].pssBytes).toBeLessThanOrEqual(scan.leakTotals![kind].rssBytes);
  });
});

describe('scan costs what it shows', () => {
  it('the cost of the largest suspected trees only, within the budget (the others by RSS); a CPU sample only with --full-cost', async () => {
    const env = homeEnv();
    // three re-parented agent helpers, one of them holding 60 MB
    const [big] = await jar.orphan(`(exec -a "npm exec budget-big" ${process.execPath} -e "const b = Buffer.alloc(60 << 20, 1); setInterval(() => b.length, 1e6)") >/dev/null 2>&1 & echo $!`);
    const small = await jar.orphan('for i in 1 2; do (exec -a "npm exec budget-small-$i" sleep 303) >/dev/null 2>&1 & echo $!; done');
    const ours = [big!, ...small];
    expect(await waitFor(async () => ((await readStatm(big!)) ?? 0) > 50 << 20)).toBe(true);
    const { scanMachine } = await import('../../src/index.js');
    const scan = await scanMachine({ suspectCostBudget: 1, cpuSampleMs: 0, users: 'all' });
    const of = (pid: number) => scan.suspected.flatMap((g) => g.processes).find((p) => p.pid === pid)!;
    expect(of(big!).cost?.pssBytes).toBeGreaterThan(50 << 20); // the largest by RSS: measured
    expect(of(big!).cost?.cpuSampleMs).toBeUndefined(); // no sample: the share since it started
    expect(of(big!).cost?.cpuPercent).toBeGreaterThanOrEqual(0);
    for (const pid of small) expect(of(pid).cost).toBeUndefined(); // beyond the budget: RSS only
    const text = (await runCli(['scan'], { env })).stdout;
    for (const pid of ours) expect(text).toContain(String(pid));
    const full = JSON.parse((await runCli(['scan', '--json', '--full-cost'], { env })).stdout) as ScanReport;
    for (const pid of ours) expect(full.suspected.flatMap((g) => g.processes).find((p) => p.pid === pid)?.cost?.cpuSampleMs).toBeGreaterThanOrEqual(150);
    const plain = JSON.parse((await runCli(['scan', '--json'], { env })).stdout) as ScanReport;
    for (const pid of ours) expect(plain.suspected.flatMap((g) => g.processes).find((p) => p.pid === pid)?.cost?.cpuSampleMs).toBeUndefined();
  });
});

/** A process's RSS in bytes (/proc/[pid]/statm), undefined when gone. */
async function readStatm(pid: number): Promise<number | undefined> {
  try {
    return Number((await import('node:fs')).readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * 4096;
  } catch {
    return undefined;
  }
}

describe('ports held and CPU burned', () => {
  it('a leaked http.server names its port in the report and scan; scan --port finds it, and not a bystander\'s port', async () => {
    const port = await freePort();
    const bystanderPort = await freePort();
    const bystander = jar.spawn('python3', ['-m', 'http.server', String(bystanderPort), '--bind', '127.0.0.1'], { stdio: 'ignore' });
    const { report, stderr } = await runLeaking(`python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 & sleep 1`);
    const leak = report.orphans.find((p) => p.command.includes('http.server'))!;
    const server = leak.pid;
    expect(leak.cost?.listening).toEqual([{ protocol: 'tcp', address: '127.0.0.1', port }]);
    expect(stderr).toContain(`listening on 127.0.0.1:${port}`);

    const scan = JSON.parse((await runCli(['scan', '--json', '--all'])).stdout) as ScanReport;
    const inScan = scan.certain.flatMap((g) => g.processes).find((p) => p.pid === server);
    expect(inScan?.cost?.listening).toEqual([{ protocol: 'tcp', address: '127.0.0.1', port }]);
    const found = await runCli(['scan', '--port', String(port)]);
    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(new RegExp(`^port ${port}: certain leak ${server} .*http\\.server`));
    // Whoever holds a port is named, leak or not; exit 1 only when nobody does.
    const notALeak = await runCli(['scan', '--all', '--port', String(bystanderPort)]);
    expect(notALeak.code).toBe(0);
    expect(notALeak.stdout).toMatch(new RegExp(`^port ${bystanderPort}: ${bystander.pid}, not a leak \\(its parent ${process.pid}, .*, is alive\\), listening on 127\\.0\\.0\\.1:${bystanderPort}: .*http\\.server`));
    const asJson = JSON.parse((await runCli(['scan', '--json', '--port', String(bystanderPort)])).stdout) as { holders: { kind: string; pid: number }[] };
    expect(asJson.holders).toEqual([expect.objectContaining({ kind: 'not-a-leak', pid: bystander.pid })]);
    const nobody = await runCli(['scan', '--port', String(await freePort())]);
    expect(nobody.code).toBe(1);
    expect(nobody.stdout).toMatch(/^rtrack: nothing listens on port \d+\n$/);
    expect(bystander.exitCode).toBeNull();
  });

  it('an orphaned dev server (re-parented, listening) is a suspect in the default scan; scan --port names it; scan --reap --dry-run says why it is not reaped and prints the command that reaps it, which does', async () => {
    const env = homeEnv();
    const [devPort, servicePort] = [await freePort(), await freePort()];
    // From a session that then ended (an agent's shell), and one that leads its own session, as a service does.
    const [dev] = await jar.orphan(`setsid bash -c 'python3 -m http.server ${devPort} --bind 127.0.0.1 >/dev/null 2>&1 & echo $!'`);
    const [service] = await jar.orphan(`setsid python3 -m http.server ${servicePort} --bind 127.0.0.1 >/dev/null 2>&1 & echo $!`);
    // A session leader too, but started by an agent's tool command (its session's marker, no agent
    // pid: the session cannot be told over): a suspect, not a service.
    const leaderPort = await freePort();
    const [leader] = await jar.orphan(`setsid nohup python3 -m http.server ${leaderPort} --bind 127.0.0.1 >/dev/null 2>&1 & echo $!`, { ...process.env, CLAUDE_CODE_SESSION_ID: `leader-${Date.now()}` });
    expect(await waitFor(async () => (await listens(devPort)) && (await listens(servicePort)) && (await listens(leaderPort)))).toBe(true);

    const scan = JSON.parse((await runCli(['scan', '--json'], { env })).stdout) as ScanReport;
    const suspect = scan.suspected.find((g) => g.root.pid === dev);
    expect(suspect?.processes[0]?.cost?.listening).toEqual([{ protocol: 'tcp', address: '127.0.0.1', port: devPort }]);
    expect(scan.suspected.some((g) => g.root.pid === service)).toBe(false);
    expect(scan.suspected.find((g) => g.root.pid === leader)?.processes[0]?.cost?.listening).toEqual([{ protocol: 'tcp', address: '127.0.0.1', port: leaderPort }]);

    const port = await runCli(['scan', '--port', String(devPort)], { env });
    expect(port.code).toBe(0);
    expect(port.stdout).toMatch(new RegExp(`^port ${devPort}: suspected leak ${dev} \\(tree of ${dev}\\), listening on 127\\.0\\.0\\.1:${devPort}: .*http\\.server ${devPort}`));
    expect((await runCli(['scan', '--port', String(servicePort)], { env })).stdout).toMatch(new RegExp(`^port ${servicePort}: ${service}, not a leak \\(re-parented, but not like a leak: its command is not an agent's helper's, and it is no server started from a session`));

    const dry = await runCli(['scan', '--reap', '--dry-run'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/rtrack: nothing to reap: scan --reap reaps only certain leaks; the \d+ suspected trees? above (is|are) reaped only when you name (it|them):/);
    const command = dry.stdout.split('\n').find((l) => l.startsWith('  rtrack scan --reap --match') && l.includes(String(devPort)))!.trim();
    expect(command).toMatch(/ --yes$/);
    expect(await isAlive(dev!)).toBe(true);
    // Typed into a shell as printed: it reaps the dev server, and nothing else of ours.
    const typed = spawnSync('/bin/sh', ['-c', `N="$0" R="$1"; rtrack() { "$N" "$R" "$@"; }; ${command}`, process.execPath, RTRACK], { env, encoding: 'utf8' });
    expect(typed.status, typed.stderr).toBe(0);
    expect(await waitFor(async () => !(await isAlive(dev!)))).toBe(true);
    expect(await isAlive(service!)).toBe(true);
  });

  it('a leaked busy loop is flagged as spinning, however loaded the machine (it is runnable all the time); a leaked sleeper is not', async () => {
    const { report, stderr } = await runLeaking('(exec -a busy-loop bash -c "while :; do :; done") & sleep 301 & sleep 0.3');
    const busy = report.orphans.find((p) => p.command.startsWith('busy-loop'))!;
    const sleeper = report.orphans.find((p) => p.command === 'sleep 301')!;
    expect(busy.cost).toMatchObject({ spinning: true });
    expect(busy.cost!.cpuPercent).toBeGreaterThan(0); // its share of a core: less than 90 % on a loaded machine
    expect(sleeper.cost).toMatchObject({ spinning: false, cpuPercent: 0 });
    expect(stderr).toMatch(/SPINNING \d+% CPU/);
    expect(report.leakCost?.spinning).toBe(1);
  });
});

describe.skipIf(process.getuid?.() !== 0)('another user\'s leak', () => {
  it('is shown by RSS only, marked so, and nothing fails', async () => {
    const [leak] = await jar.orphan('(exec -a "npm exec mcp-server-cost-check" sleep 302) >/dev/null 2>&1 & echo $!');
    const forNobody = packageForOtherUsers();
    try {
      const out = await new Promise<string>((resolve) => {
        // another user's: shown only with --all-users (issue 34)
        const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, forNobody.rtrack, 'scan', '--all-users', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        c.stdout.on('data', (d: Buffer) => (text += d.toString()));
        c.on('exit', () => resolve(text));
      });
      const scan = JSON.parse(out) as ScanReport;
      const p = scan.suspected.flatMap((g) => g.processes).find((q) => q.pid === leak)!;
      expect(p.cost).toMatchObject({ memoryUnreadable: true });
      expect(p.cost?.pssBytes).toBeUndefined();
      expect(p.memoryBytes).toBeGreaterThan(0);
    } finally {
      forNobody.cleanup();
    }
  });
});
