import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskReport } from '../../src/index.js';
import { pidsIn, runCli, startCli } from '../helpers/cli.js';
import { reportFiles } from '../helpers/reports.js';
import { isAlive, ProcessJar } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const { dir, reportPath, readReport } = reportFiles('cli');
const SLEEPER = (seconds: number): string => `sleep ${seconds} >/dev/null 2>&1 & echo $!`;

async function adoptAll(stdout: string): Promise<number[]> {
  const pids = pidsIn(stdout);
  for (const pid of pids) await jar.adopt(pid);
  return pids;
}

describe('rtrack run', () => {
  it('a clean command: no orphans, exit 0, two INFO lines', async () => {
    const r = await runCli(['run', '--', 'true']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^INFO resource snapshot taken \(before\) processes=\d+ memory_mb=\d+\.\d$/);
    expect(lines[1]).toMatch(/^INFO resource snapshot taken \(after\) processes=\d+ memory_mb=\d+\.\d$/);
  });

  it('a double-forked sleeper is in the log line and the JSON report', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--report', report, '--', 'bash', '-c', SLEEPER(303)]);
    const [sleeper] = await adoptAll(r.stdout);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`WARN orphaned processes detected count=1 processes="sleep 303 \\(PID=${sleeper}\\)"`));
    const json = readReport(report);
    expect(json.command).toEqual(['bash', '-c', SLEEPER(303)]);
    expect(json.exitCode).toBe(0);
    expect(json.signal).toBeNull();
    expect(json.orphans.map((p) => p.pid)).toEqual([sleeper]);
    expect(json.orphans[0]).toMatchObject({ command: 'sleep 303', ppid: expect.any(Number), isMCP: false });
    expect(json.orphans[0]!.evidence).toContain('tag');
    expect(json.before!.processCount).toBeGreaterThan(0);
    expect(typeof json.durationMs).toBe('number');
    expect(json.memoryThresholdMB).toBe(100);
    expect(typeof json.memoryGrowthExceeded).toBe('boolean');
    // the human summary draws the leak
    expect(r.stderr).toContain('rtrack: the task left running: 1 process');
  });

  it('an [MCP]-tagged leak (exec -a chromium)', async () => {
    const r = await runCli(['run', '--', 'bash', '-c', `(exec -a chromium sleep 304) >/dev/null 2>&1 & echo $!; sleep 0.3`]); // the subshell has exec'd by the after snapshot
    const [browser] = await adoptAll(r.stdout);
    expect(r.stderr).toContain(`processes="chromium 304 (PID=${browser}) [MCP]"`);
  });

  it('--report - writes JSON to stdout instead of the summary', async () => {
    const r = await runCli(['run', '--report', '-', '--', 'bash', '-c', 'sleep 305 >/dev/null 2>&1 & echo $! >&2']);
    const pid = Number(/^(\d+)$/m.exec(r.stderr)![1]);
    await jar.adopt(pid);
    const json = JSON.parse(r.stdout) as TaskReport;
    expect(json.orphans.map((p) => p.pid)).toEqual([pid]);
    expect(r.stderr).not.toContain('the task left running');
  });

  it.each([
    [['sh', '-c', 'exit 7'], 7],
    [['sh', '-c', 'kill -TERM $$'], 143],
    [['sh', '-c', 'kill -KILL $$'], 137],
    [['definitely-not-a-command-xyz'], 127],
  ])('exit status passthrough: %j → %i', async (command, expected) => {
    const r = await runCli(['run', '--', ...command]);
    expect(r.code).toBe(expected);
  });

  it('a command that is not found says so in one line (127)', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--report', report, '--', 'definitely-not-a-command-xyz']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('rtrack: definitely-not-a-command-xyz: command not found');
    expect(readReport(report)).toMatchObject({ exitCode: 127, error: 'definitely-not-a-command-xyz: command not found' });
  });

  it('a file that cannot be executed exits 126', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const r = await runCli(['run', '--', file]);
    expect(r.code).toBe(126);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/not executable/);
  });

  it.each([
    [['run', '--bogus', '--', 'true'], /unknown option '--bogus'/],
    [['run'], /no command given/],
    [['run', '--'], /no command given/],
    [['run', '--threshold', 'abc', '--', 'true'], /--threshold <mb>.*'abc' is invalid/],
    [['run', '--threshold', '-5', '--', 'true'], /--threshold <mb>.*is invalid/],
    [['run', '--config', '/nonexistent/x.yaml', '--', 'true'], /x\.yaml: cannot read config: no such file/],
    [['run', '--log-format', 'xml', '--', 'true'], /--log-format.*xml.*invalid/],
    [['nonsense-command'], /unknown command/],
  ])('usage error %j: one line, exit 2, task not started', async (args, pattern) => {
    const marker = `${reportPath()}.started`;
    const r = await runCli([...args.map((a) => (a === 'true' ? 'touch' : a)), ...(args.includes('true') ? [marker] : [])]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('--fail-on-orphans turns a successful leaky run into exit 3, and a clean one stays 0', async () => {
    const leaky = await runCli(['run', '--fail-on-orphans', '--', 'bash', '-c', SLEEPER(306)]);
    await adoptAll(leaky.stdout);
    expect(leaky.code).toBe(3);
    expect((await runCli(['run', '--fail-on-orphans', '--', 'true'])).code).toBe(0);
    const failing = await runCli(['run', '--fail-on-orphans', '--', 'bash', '-c', `${SLEEPER(307)}; exit 4`]);
    await adoptAll(failing.stdout);
    expect(failing.code).toBe(4);
  });

  it('--mcp-only reports only the MCP orphan', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--mcp-only', '--report', report, '--', 'bash', '-c', `${SLEEPER(308)}; (exec -a chromium sleep 309) >/dev/null 2>&1 & echo $!`]);
    const [sleeper, browser] = await adoptAll(r.stdout);
    expect(r.stderr).toMatch(new RegExp(`count=1 processes="chromium 309 \\(PID=${browser}\\) \\[MCP\\]"`));
    expect(r.stderr).not.toContain(`PID=${sleeper})`);
  });

  it('--threshold decides the memory warning; --config reads YAML', async () => {
    const hog = `python3 -c "import time; b = b'x' * (64 * 1024 * 1024); time.sleep(310)" >/dev/null 2>&1 & echo $!`;
    const low = reportPath();
    const r1 = await runCli(['run', '--threshold', '0', '--report', low, '--', 'bash', '-c', hog]);
    await adoptAll(r1.stdout);
    expect(r1.stderr).toMatch(/WARN memory growth exceeded threshold delta_mb=\d+\.\d threshold_mb=0 /);
    expect(readReport(low)).toMatchObject({ memoryThresholdMB: 0, memoryGrowthExceeded: true });

    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    memory_threshold_mb: 100000\n    log_orphaned_mcp_only: true\n');
    const high = reportPath();
    const r2 = await runCli(['run', '--config', config, '--report', high, '--', 'bash', '-c', hog]);
    await adoptAll(r2.stdout);
    expect(r2.stderr).not.toMatch(/memory growth exceeded/);
    expect(r2.stderr).not.toMatch(/orphaned processes detected/); // python is not MCP
    expect(readReport(high)).toMatchObject({ memoryThresholdMB: 100000, memoryGrowthExceeded: false });

    // a flag overrides the file
    const r3 = await runCli(['run', '--config', config, '--threshold', '0', '--', 'true']);
    expect(r3.code).toBe(0);
  });

  it('./resource-tracker.yaml in the working directory is read when no --config is given', async () => {
    const cwd = tempDir('cwd');
    writeFileSync(join(cwd, 'resource-tracker.yaml'), 'diagnostics:\n  resource_tracking:\n    enabled: false\n');
    const r = await runCli(['run', '--', 'true'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // tracking disabled: no snapshot lines
  });

  it('--no-tracking runs the command untracked', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--no-tracking', '--report', report, '--', 'sh', '-c', 'exit 0']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(readReport(report)).toMatchObject({ before: null, after: null, orphans: [], tag: null });
  });

  it('--quiet drops the INFO lines; --log-format json writes one object a line', async () => {
    expect((await runCli(['run', '--quiet', '--', 'true'])).stderr).toBe('');
    const r = await runCli(['run', '--log-format', 'json', '--', 'true']);
    const objects = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects).toHaveLength(2);
    expect(objects[0]).toMatchObject({ level: 'info', msg: 'resource snapshot taken (before)' });
  });

  it('SIGINT to rtrack is forwarded to the task, and the report is still written', async () => {
    const report = reportPath();
    const script = "process.on('SIGINT', () => { console.log('task got SIGINT'); process.exit(5); }); console.log('ready'); setInterval(() => {}, 1000);";
    const run = startCli(['run', '--report', report, '--', process.execPath, '-e', script]);
    await run.waitForStdout('ready');
    run.child.kill('SIGINT');
    const r = await run.result;
    expect(r.stdout).toContain('task got SIGINT');
    expect(r.code).toBe(5);
    expect(readReport(report)).toMatchObject({ exitCode: 5 });
  });

  it('SIGTERM to rtrack is forwarded; a task killed by it exits 143', async () => {
    const run = startCli(['run', '--', 'bash', '-c', 'echo ready; sleep 311 & wait']);
    await run.waitForStdout('ready');
    run.child.kill('SIGTERM');
    const r = await run.result;
    expect(r.code).toBe(143);
    // bash's background sleep is the task's leak: the summary names it, and we clean it up
    await adoptAll((/sleep 311 \(PID=(\d+)\)/.exec(r.stderr) ?? [])[1] ?? '');
  });
});

describe('rtrack demo', () => {
  it('reports at least two leaked processes and leaves none behind', async () => {
    const report = reportPath();
    const r = await runCli(['demo', '--report', report]);
    const json = readReport(report);
    for (const p of json.orphans) await jar.adopt(p.pid);
    expect(r.code).toBe(0);
    expect(json.orphans.length).toBeGreaterThanOrEqual(2);
    expect(json.orphans.some((p) => p.command.startsWith('mcp-server-playwright'))).toBe(true);
    expect(json.orphans.some((p) => p.command.startsWith('chromium --headless'))).toBe(true);
    expect(r.stderr).toMatch(/WARN orphaned processes detected count=2/);
    // Its last line gives the same figure as its summary: PSS, RSS beside it.
    const memory = /rtrack: the task left running: 2 processes, (\d+\.\d MB PSS) \(what ending it gives back\), (RSS \d+\.\d MB)/.exec(r.stderr);
    expect(memory, r.stderr).not.toBeNull();
    expect(r.stderr).toContain(`rtrack demo: found 2 leaked processes (${memory![1]}, ${memory![2]}) and removed 2 of them; the machine is as it was.`);
    for (const p of json.orphans) expect(await isAlive(p.pid)).toBe(false);
    expect(json.reaped!.every((x) => x.result === 'terminated' || x.result === 'killed')).toBe(true);
  });
});

describe('rtrack snapshot', () => {
  it('prints a table with totals, and JSON with --json', async () => {
    const table = await runCli(['snapshot', '--sort', 'memory']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/PID\s+PPID\s+RSS MB MCP COMMAND/);
    expect(lines.at(-1)).toMatch(/^\d+ processes, \d+\.\d MB RSS$/);
    const json = await runCli(['snapshot', '--json']);
    const snap = JSON.parse(json.stdout) as { processes: { pid: number }[]; processCount: number };
    expect(snap.processCount).toBe(snap.processes.length);
    expect(snap.processes.some((p) => p.pid === json.code || p.pid === 1)).toBe(true);
  });

  it('--mcp shows only MCP processes', async () => {
    const [browser] = await jar.orphan(`(exec -a chromium sleep 312) >/dev/null 2>&1 & echo $!`);
    const r = await runCli(['snapshot', '--mcp', '--json']);
    const snap = JSON.parse(r.stdout) as { processes: { pid: number; isMCP: boolean }[] };
    expect(snap.processes.every((p) => p.isMCP)).toBe(true);
    expect(snap.processes.some((p) => p.pid === browser)).toBe(true);
  });
});

describe('rtrack --help', () => {
  it.each([[[]], [['run']], [['snapshot']], [['scan']], [['watch']], [['demo']]])('%j documents its options with an example, exit 0', async (command) => {
    const r = await runCli([...command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: rtrack/);
    expect(r.stdout).toMatch(/Examples?:\n {2}rtrack /);
  });

  it('no command at all is a usage error: the help goes to stderr, exit 2; `help run` is asked for, exit 0', async () => {
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/Usage: rtrack/);
    const asked = await runCli(['help', 'run']);
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(/Usage: rtrack run/);
  });

  it('shows defaults in the units the flags take', async () => {
    const watch = (await runCli(['watch', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(watch).toMatch(/--interval <duration> .*\(default: 15s\)/);
    expect(watch).toMatch(/--linger <duration> .*\(default: 1m\)/);
    expect(watch).toMatch(/--grace <duration> .*a bare number is milliseconds\) \(default: 3s\)/);
    for (const command of ['run', 'scan']) expect((await runCli([command, '--help'])).stdout.replace(/\s+/g, ' ')).toMatch(/--grace <duration> .*\(default: 3s\)/);
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
