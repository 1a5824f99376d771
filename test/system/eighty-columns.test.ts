// 80 columns, every command: each command and each `--help`, run in a real pseudo-terminal (util-linux
// `script`) of 80 columns, writes no line wider than that — log lines, hints, hooks status, sessions,
// tables, help. Piped, lines are whole: a command line is printed in full, never cut at 100
// characters. HOME and XDG_* are temporary directories: nothing of the real user's is read or written.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { ALLOW_SHARED, newHome, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const rtrack = `${quote(process.execPath)} ${quote(RTRACK)}`;
/** A command line longer than 100 characters, as an MCP server's can be. */
const LONG = `node /home/agent/.npm/_npx/9833c18b/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js${' /home/agent/projects/a-rather-long-project-name'.repeat(3)}`;

/** Runs a bash script in a pseudo-terminal of 80 columns; resolves with what it wrote, read as UTF-8, each line without its \r. */
function inPty(script: string, env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<string[]> {
  const child = jar.spawn('script', ['-qfec', `stty cols 80 rows 50; ${script}`, '/dev/null'], { env: { ...env, SHELL: '/bin/bash' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the pty did not finish: ${Buffer.concat(chunks).toString('utf8')}`)), timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8').split('\n').map((l) => l.replace(/\r$/, '')));
    });
  });
}

/** Lines wider than 80 columns, with the command that wrote them (each command's output follows a `### <command>` line). */
function tooWide(lines: readonly string[]): string[] {
  let command = '';
  const wide: string[] = [];
  for (const line of lines) {
    if (line.startsWith('### ')) command = line.slice(4);
    else if (stringWidth(line) > 80) wide.push(`${command}: [${stringWidth(line)}] ${line}`);
  }
  return wide;
}

/** Every command's name as typed (`hooks install`), from the program itself: a command added later is covered. */
function commandNames(): string[] {
  const names: string[] = [];
  const walk = (command: Command, prefix: string): void => {
    for (const sub of command.commands) {
      names.push(`${prefix}${sub.name()}`);
      walk(sub, `${prefix}${sub.name()} `);
    }
  };
  walk(buildProgram(() => {}), '');
  return names;
}

describe('80 columns, every command', () => {
  it('the help of the top level and of every command fits 80 columns, on an 80-column terminal and piped', async () => {
    const helps = ['', ...commandNames().map((c) => `${c} `)].map((c) => `${c}--help`);
    expect(helps).toEqual(expect.arrayContaining(['--help', 'run --help', 'scan --help', 'hooks install --help', 'session follow --help', 'uninstall --help']));
    const home = tempDir('help-home');
    const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
    const lines = await inPty(helps.map((h) => `echo '### ${h}'; ${rtrack} ${h}`).join('; '), env);
    expect(tooWide(lines)).toEqual([]);
    expect(lines.filter((l) => l.startsWith('Usage: rtrack')).length).toBe(helps.length);
    for (const help of helps) {
      const piped = await runCli(help.split(' '), { env });
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdout.split('\n').filter((l) => stringWidth(l) > 80), help).toEqual([]);
    }
  });

  it('every command, on an 80-column terminal: log lines, hints, tables, hooks status, sessions and uninstall all fit', async () => {
    const h = newHome(homes);
    mkdirSync(join(h.home, 'proj'));
    for (const args of [['claude', '--reap'], ['gemini'], ['opencode']]) expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, ...args], { env: h.env })).code).toBe(0);
    // A journal entry of a session in a deep folder that left a server with a long command line
    mkdirSync(h.state, { recursive: true });
    const entry = {
      agent: 'claude-code',
      sessionId: '7d1e2f3a-5ac4-49c5-b6cc-7ca3007ff9fc',
      cwd: '/home/agent/projects/a-rather-long-project-name/packages/server',
      agentPid: 4242,
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      endedAt: new Date().toISOString(),
      reason: 'other',
      leaked: [{ pid: 4243, command: `${LONG.slice(0, 100)}...`, commandLine: LONG, memoryMB: 12.5, evidence: ['agent', 'lineage'] }],
    };
    writeFileSync(join(h.state, 'journal.jsonl'), `${JSON.stringify(entry)}\n`);
    // A suspect: an orphaned listener named by the long command line
    const port = await freePort();
    const [suspect] = await jar.orphan(`(exec -a ${quote(LONG)} ${quote(process.execPath)} -e "require('net').createServer().listen(${port}, '127.0.0.1')") >/dev/null 2>&1 & echo $!`);
    const leak = `(exec -a ${quote(LONG)} sleep 657) >/dev/null 2>&1 & echo "leak $!"; sleep 0.3`;
    const commands = [
      `run --reap --grace 300ms -- bash -c ${quote(leak)}`,
      `run -- true`,
      'snapshot',
      'scan',
      'scan --all',
      `scan --port ${port}`,
      'scan --reap --dry-run',
      'hooks status',
      'hooks install claude --dry-run --allow-shared-path',
      'hooks uninstall gemini --dry-run',
      'sessions',
      'uninstall --dry-run',
      'session follow',
      'demo',
    ];
    const script = [...commands.map((c) => `echo ${quote(`### ${c}`)}; cd ${quote(join(h.home, 'proj'))}; ${rtrack} ${c}`), `echo '### watch'; timeout -s INT 3 ${rtrack} watch --port 0 --interval 200ms`].join('; ');
    const lines = await inPty(script, h.env);
    const text = lines.join('\n');
    for (const pid of [...text.matchAll(/leak (\d+)/g)].map((m) => Number(m[1]))) await jar.adopt(pid);
    expect(tooWide(lines)).toEqual([]);
    // each command said what it says (and the long lines were there to fit)
    expect(text).toMatch(/^INFO resource snapshot taken \(before\)/m);
    expect(text).toMatch(/^WARN orphaned processes detected count=\d+ processes="/m);
    expect(text).toMatch(new RegExp(`^port ${port}: suspected leak ${suspect}`, 'm'));
    expect(text).toMatch(/^ +rtrack scan --reap --match .*\\$/m); // a command to copy, broken between words
    const flat = text.replace(/\n +/g, ' '); // wrapped lines joined again
    expect(flat).toMatch(/claude-code(, gemini-cli, opencode)? sessions: reaping is on/);
    expect(flat).toMatch(/session 7d1e2f3a-5ac4-49c5-b6cc-7ca3007ff9fc in \/home\/agent\/projects\/a-rather-long-project-name\/packages\/server: ended \d+s ago \(other: /);
    expect(text).toContain('rtrack uninstall would remove:');
    expect(text).toMatch(/^INFO rtrack watch listening url=/m);
  });

  it.skipIf(process.getuid?.() !== 0)('as a user who cannot make cgroups: run says how to get one once per machine, in lines that fit', async () => {
    const forNobody = packageForOtherUsers();
    try {
      const home = tempDir('nobody-home');
      chmodSync(home, 0o777);
      const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
      const run = `setpriv --reuid=65534 --regid=65534 --clear-groups ${quote(process.execPath)} ${quote(forNobody.rtrack)} run -- true`;
      const lines = await inPty(`echo '### first'; ${run}; echo '### second'; ${run}`, env);
      expect(tooWide(lines)).toEqual([]);
      const text = lines.join('\n');
      const first = text.slice(text.indexOf('### first'), text.indexOf('### second'));
      const second = text.slice(text.indexOf('### second'));
      expect(first).toMatch(/^INFO running without a cgroup of its own reason=/m);
      expect(first.replace(/\n {2}/g, ' ')).toContain('INFO to give each run a cgroup of its own (said once) hint="run as root, or inside a delegated subtree: systemd-run --user --scope -p Delegate=yes rtrack run …"');
      expect(second).toMatch(/^INFO running without a cgroup of its own reason=/m);
      expect(second).not.toContain('Delegate=yes');
    } finally {
      forNobody.cleanup();
    }
  });

  it('piped, every line is whole: commands are printed in full, not cut at 100 characters', async () => {
    const h = newHome(homes);
    const port = await freePort();
    await jar.orphan(`(exec -a ${quote(LONG)} ${quote(process.execPath)} -e "require('net').createServer().listen(${port}, '127.0.0.1')") >/dev/null 2>&1 & echo $!`);
    expect(await waitFor(async () => (await runCli(['scan', '--port', String(port)], { env: h.env })).code === 0)).toBe(true);
    for (const args of [['scan'], ['scan', '--all'], ['scan', '--port', String(port)], ['snapshot']]) {
      const r = await runCli(args, { env: h.env });
      expect(r.stdout, args.join(' ')).toContain(LONG);
      expect(r.stdout, args.join(' ')).not.toContain(`${LONG.slice(0, 100)}...`);
    }
    expect((await runCli(['scan', '--reap', '--dry-run'], { env: h.env })).stdout).not.toMatch(/\\\n/); // no line broken for a terminal
    // What a run reaped, piped: the whole command line too
    const r = await runCli(['run', '--reap', '--grace', '300ms', '--', 'bash', '-c', `(exec -a ${quote(LONG)} sleep 658) >/dev/null 2>&1 & echo "leak $!"; sleep 0.3`], { env: h.env });
    await jar.adopt(Number(/leak (\d+)/.exec(r.stdout)![1]));
    expect(r.stderr).toMatch(new RegExp(`^ +\\d+ +terminated \\(SIGTERM\\) +${LONG.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} 658$`, 'm'));
  });
});

