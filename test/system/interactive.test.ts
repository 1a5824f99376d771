// rtrack run around an interactive task in a real pseudo-terminal (util-linux `script`).
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLinuxReader } from '../../src/platform/linux.js';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { RTRACK, runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const task = (name: string): string => fileURLToPath(new URL(`../fixtures/tasks/${name}`, import.meta.url));
const reader = createLinuxReader();

interface Pty {
  child: ChildProcess;
  output: () => string;
  type(keys: string): void;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<number | null>;
}

/**
 * Runs a shell command line in a new pseudo-terminal; keystrokes go to its input. `script` runs it
 * with $SHELL (else /bin/sh), and that shell shares the foreground process group with rtrack: bash
 * waits for a child that handled Ctrl+C and goes on, as an interactive shell would, while dash dies
 * of it and takes the terminal with it. So the shell is bash, whatever the caller's environment says.
 */
function inPty(commandLine: string): Pty {
  const child = jar.spawn('script', ['-qfec', commandLine, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/bash' } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('latin1')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    type: (keys) => void child.stdin!.write(keys),
    async waitFor(text, timeoutMs = 15_000) {
      const hit = (): boolean => (typeof text === 'string' ? output.includes(text) : text.test(output));
      if (!(await waitFor(hit, timeoutMs))) throw new Error(`timed out waiting for ${String(text)} in: ${JSON.stringify(output)}`);
    },
    exit,
  };
}

/** Single-quoted for the shell: the checkout's path may hold spaces. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const rtrack = (args: string): string => `${quote(process.execPath)} ${quote(RTRACK)} run ${args}`;
const node = (name: string): string => `${quote(process.execPath)} ${quote(task(name))}`;

/** The task's pid from its "ready <pid>" line, recorded for cleanup with its tree. */
async function taskPid(pty: Pty): Promise<number> {
  const pid = Number(/ready (\d+)/.exec(pty.output())![1]);
  await jar.adopt(pid);
  return pid;
}

describe('interactive task under rtrack run, in a real terminal', () => {
  it('one Ctrl+C reaches the task exactly once; a second one ends it; rtrack reports and exits with its status', async () => {
    const pty = inPty(`${rtrack('--')} ${node('sigcount.mjs')}; echo "rtrack exit $?"`);
    await pty.waitFor('ready');
    await taskPid(pty);
    pty.type('\x03');
    await pty.waitFor('SIGINT 1');
    await new Promise((r) => setTimeout(r, 400)); // a duplicate would arrive meanwhile
    expect(pty.output()).not.toContain('SIGINT 2');
    pty.type('\x03');
    await pty.waitFor('rtrack exit');
    expect(pty.output()).toContain('SIGINT 2');
    expect(pty.output()).toMatch(/INFO resource snapshot taken \(after\)/);
    expect(pty.output()).toContain('rtrack exit 42');
    pty.child.stdin!.end();
    expect(await pty.exit).toBe(0);
  });

  it('Ctrl+Z suspends the task and rtrack together; fg resumes both and the task completes', async () => {
    // Job control needs an interactive shell: it gives the job its own process group (a stop
    // signal to an orphaned process group is discarded by the kernel).
    const pty = inPty('bash --norc --noprofile -i');
    pty.type(`${rtrack('--')} ${node('ticker.mjs')}\n`); // alone on the line: a stopped job ends a list
    await pty.waitFor('ready');
    const pid = await taskPid(pty);
    const rtrackPid = (await reader.readStatus(pid))!.ppid;
    pty.type('\x1a');
    const { readFileSync } = await import('node:fs');
    const stopped = (p: number): boolean => / T /.test(readFileSync(`/proc/${p}/stat`, 'latin1').slice(readFileSync(`/proc/${p}/stat`, 'latin1').lastIndexOf(')')));
    expect(await waitFor(() => stopped(pid) && stopped(rtrackPid), 5000)).toBe(true);
    await pty.waitFor(/Stopped/);
    await new Promise((r) => setTimeout(r, 1600)); // longer than the task needs: it is really stopped
    expect(pty.output()).not.toContain('completed');
    pty.type('fg\n'); // the shell sends SIGCONT to the job's group and gives it the terminal back
    await pty.waitFor('completed');
    await pty.waitFor('resource snapshot taken (after)');
    pty.type('echo "rtrack-exit:$?"\n');
    await pty.waitFor(/rtrack-exit:\d+/);
    expect(pty.output()).toContain('rtrack-exit:0');
    pty.type('exit\n');
    expect(await pty.exit).toBe(0);
  });

  it('SIGCONT sent to rtrack alone is passed on to a stopped task', async () => {
    const run = startCli(['run', '--', process.execPath, task('ticker.mjs')]);
    const pid = Number(/ready (\d+)/.exec(await run.waitForStdout('ready'))![1]);
    await jar.adopt(pid);
    process.kill(pid, 'SIGSTOP'); // the task alone is stopped, as after a Ctrl+Z it missed
    await new Promise((r) => setTimeout(r, 1600));
    expect(await run.waitForStdout('ready')).not.toContain('completed');
    run.child.kill('SIGCONT');
    const r = await run.result;
    expect(r.stdout).toContain('completed');
    expect(r.code).toBe(0);
  });

  it('a window resize reaches the task (it shares the terminal)', async () => {
    const pty = inPty(`${rtrack('--')} ${node('winch.mjs')}; echo "rtrack exit $?"`);
    await pty.waitFor(/tty \/dev\/pts\/\d+/);
    await taskPid(pty);
    const tty = /tty (\/dev\/pts\/\d+)/.exec(pty.output())![1]!;
    // As a terminal emulator does on resize: set the window size, and the kernel signals the foreground group.
    const { execFileSync } = await import('node:child_process');
    execFileSync('stty', ['-F', tty, 'cols', '123', 'rows', '45']);
    await pty.waitFor('rtrack exit');
    expect(pty.output()).toContain('resized to 123x45');
    expect(pty.output()).toContain('rtrack exit 0');
  });

  it('the task\'s output reaches the terminal unchanged, and rtrack\'s summary comes after it', async () => {
    const pty = inPty(`${rtrack('--')} ${node('raw-and-colours.mjs')}; echo "rtrack exit $?"`);
    await pty.waitFor('rtrack exit');
    await jar.adopt(Number(/leak (\d+)/.exec(pty.output())![1]));
    const out = pty.output();
    expect(out).toContain('\x1b[31mred\x1b[0m progress 10%\rprogress 100%\r\n');
    const summary = out.indexOf('rtrack: the task left running');
    expect(summary).toBeGreaterThan(out.indexOf('progress 100%'));
    expect(out.slice(0, summary)).toMatch(/\r\n$/); // on a clean line
  });

  it('a task killed in raw mode leaves the terminal usable: rtrack restores its modes', async () => {
    const pty = inPty(`${rtrack('--')} ${node('raw-and-colours.mjs')} raw; stty -a; echo "rtrack done"`);
    await pty.waitFor('rtrack done');
    await jar.adopt(Number(/leak (\d+)/.exec(pty.output())![1]));
    const modes = pty.output();
    // rtrack's summary is printed after the modes are restored: every line ends \r\n (no staircase)
    const summary = modes.slice(modes.indexOf('rtrack: the task left running'), modes.indexOf('speed'));
    expect(summary).toMatch(/^rtrack: the task left running[^\n]*\r\n/);
    expect(summary.split('\n').slice(0, -1).every((line) => line.endsWith('\r'))).toBe(true);
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(modes).toMatch(/(^|\s)echo(\s|$)/m);
    expect(modes).not.toMatch(/-icanon/);
  });

  it('the report and reaping still happen when the session ends with Ctrl+C', async () => {
    const pty = inPty(`${rtrack('--reap --grace 300 --')} bash -c 'sleep 431 >/dev/null 2>&1 & echo "leak $!"; exec "$0" "$1"' ${node('sigcount.mjs')}; echo "rtrack exit $?"`);
    await pty.waitFor('ready');
    const leak = Number(/leak (\d+)/.exec(pty.output())![1]);
    await jar.adopt(leak);
    pty.type('\x03');
    await pty.waitFor('SIGINT 1');
    pty.type('\x03');
    await pty.waitFor('rtrack exit');
    expect(pty.output()).toContain(`sleep 431 (PID=${leak})`);
    expect(pty.output()).toMatch(new RegExp(`${leak} +terminated`)); // on a terminal, the result is a column
    expect(pty.output()).toContain('rtrack exit 42');
  });
});

describe('no terminal: a signal sent to rtrack alone', () => {
  it('kill -INT <rtrack pid> reaches the task exactly once', async () => {
    const run = startCli(['run', '--', process.execPath, task('sigcount.mjs')]);
    await run.waitForStdout('ready');
    await jar.adopt(Number(/ready (\d+)/.exec(await run.waitForStdout('ready'))![1]));
    run.child.kill('SIGINT');
    await run.waitForStdout('SIGINT 1');
    await new Promise((r) => setTimeout(r, 400));
    const out = await run.waitForStdout('SIGINT 1');
    expect(out).not.toContain('SIGINT 2');
    run.child.kill('SIGINT');
    const r = await run.result;
    expect(r.stdout).toContain('SIGINT 2');
    expect(r.code).toBe(42);
  });
});

describe('on an 80-column terminal, every line fits; piped, every line is whole', () => {
  const long = `node /home/agent/.npm/_npx/9833c18b/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js${' /home/agent/projects/a-rather-long-project-name'.repeat(3)}`;
  const widthOf = (line: string): number => stringWidth(Buffer.from(line.replace(/\r$/, ''), 'latin1').toString('utf8')); // the pty's output is kept as latin1
  /** A task that leaves a listener behind, named by the long command line, and says its pid. */
  const listener = (port: number): string =>
    `(exec -a ${quote(long)} ${quote(process.execPath)} -e "require('net').createServer().listen(${port}, '127.0.0.1')") >/dev/null 2>&1 & echo "leak $!"; sleep 1`;

  it('scan and run: ports and evidence before the command, which is cut with an ellipsis; one header row', async () => {
    const home = tempDir('pty-home');
    const env = `HOME=${quote(home)} XDG_CONFIG_HOME=${quote(join(home, 'config'))} XDG_STATE_HOME=${quote(join(home, 'state'))}`;
    const port = await freePort();
    const script = listener(port);
    const pty = inPty(`stty cols 80; export ${env}; ${rtrack('--reap --grace 300ms --')} bash -c ${quote(script)}; ${quote(process.execPath)} ${quote(RTRACK)} scan --all; echo "done $?"`);
    await pty.waitFor(/done \d+/, 30_000);
    await jar.adopt(Number(/leak (\d+)/.exec(pty.output())![1]));
    const lines = pty.output().split('\n');
    // Every line fits, the log lines (the seed's records, key=value) too: wrapped, continued indented.
    for (const line of lines) expect(widthOf(line), line).toBeLessThanOrEqual(80);
    expect(pty.output()).toMatch(/^WARN orphaned processes detected count=1 processes="[^\n]*\r\n {2}\S/m);
    const header = lines.findIndex((l) => /^ *PID +MEMORY +EVIDENCE +LISTENING ON +COMMAND/.test(l));
    expect(header, pty.output()).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(new RegExp(`^ *\\d+ +\\d+\\.\\d MB PSS +tag.* +127\\.0\\.0\\.1:${port} +node /home/agent/\\.npm/.*\u00e2\u0080\u00a6\\r$`)); // an ellipsis (UTF-8, read as latin1)
    expect(pty.output()).toMatch(/^ *PID +RESULT +COMMAND/m); // the reaped list has its header too
  });

  it('piped, nothing is cut: the whole command line comes first, then its evidence and ports', async () => {
    const port = await freePort();
    const script = listener(port);
    const r = await runCli(['run', '--reap', '--grace', '300ms', '--', 'bash', '-c', script], { env: { ...process.env, COLUMNS: '80' } });
    await jar.adopt(Number(/leak (\d+)/.exec(r.stdout)![1]));
    // The row: the whole command line (not its 100-character display form), then evidence and ports
    const row = r.stderr.split('\n').find((l) => l.includes('(tag') && l.includes('listening on'))!;
    expect(row).toContain(`${long} -e require('net').createServer().listen(${port}, '127.0.0.1')  (tag`);
    expect(row).toMatch(new RegExp(`\\)  \\(tag[^)]*\\)  listening on 127\\.0\\.0\\.1:${port}$`));
    expect(r.stderr).not.toContain('…');
    // The seed's log line names processes by their display form, as the seed's lines do
    expect(r.stderr).toContain(`${long.slice(0, 100)}... (PID=`);
  });
});
