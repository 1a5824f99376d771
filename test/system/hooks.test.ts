// `rtrack hooks install|uninstall|status`, run as the built CLI on real settings files in temporary
// directories (HOME and XDG_* point there: nothing of the real user's is read or written).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALLOW_SHARED, allowShared, withoutUnsafe } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

interface Home {
  env: NodeJS.ProcessEnv;
  home: string;
}

function newHome(): Home {
  const home = tempDir('hooks');
  return { home, env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') } };
}

const backupsOf = (file: string): string[] => {
  const dir = join(file, '..');
  const base = file.slice(dir.length + 1);
  return readdirSync(dir)
    .filter((n) => n.startsWith(`${base}.rtrack-backup`))
    .sort((a, b) => statSync(join(dir, a)).mtimeMs - statSync(join(dir, b)).mtimeMs || a.length - b.length || a.localeCompare(b))
    .map((n) => join(dir, n));
};
const mode = (path: string): number => statSync(path).mode & 0o7777;
const asRoot = process.getuid?.() === 0;
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** The form rtrack installs (src/hooks/hook-commands.ts hookCommand), written out here as a person would read it. */
const installedForm = (node: string, bin: string, subcommand: string, agent: string, config?: string): string => {
  const run = `{ RESOURCE_TRACKER_DAEMON=hook ${quote(node)} ${quote(bin)} session ${subcommand} --agent ${agent} --parent "$PPID"${config ? ` --config ${quote(config)}` : ''} <&3 3<&- >/dev/null 2>&1 & } 2>/dev/null 3<&0 || :;`;
  const words = `rtrack: the ${agent} hooks in this agent's settings are stale: they no longer run, ${bin} or ${node} is gone; install rtrack again and run \`rtrack hooks install ${agent}\` (or \`rtrack hooks uninstall ${agent}\`), or delete them from the settings (said once)`;
  const gone = `case "$XDG_STATE_HOME" in /*) d="$XDG_STATE_HOME/rtrack";; *) d="$HOME/.local/state/rtrack";; esac; mkdir "$d/said-hooks-gone" 2>/dev/null && { echo ${quote(words)} >&2; exit 1; }; true`;
  return `if [ -f ${quote(bin)} ] && [ -x ${quote(node)} ]; then ${run}${subcommand === 'start' ? ` else ${gone};` : ''} fi`;
};
/** The form installed before hooks ran detached (the agent waited for rtrack). */
const waitedForm = (node: string, bin: string, subcommand: string, agent: string): string =>
  `[ -f ${quote(bin)} ] && [ -x ${quote(node)} ] && ${quote(node)} ${quote(bin)} session ${subcommand} --agent ${agent} || true`;
type Settings = { hooks: Record<string, { hooks: { command: string; timeout?: number }[] }[]> };
const commandsIn = (file: string): string[] =>
  Object.values((JSON.parse(readFileSync(file, 'utf8')) as Settings).hooks ?? {}).flatMap((groups) => groups.flatMap((g) => g.hooks.map((hook) => hook.command)));
/** Runs a hook command as the agent does: `/bin/sh -c '<command>'`, the hook JSON on stdin. */
const runHook = (command: string, input: string, env: NodeJS.ProcessEnv) => spawnSync('/bin/sh', ['-c', command], { input, env, encoding: 'utf8', timeout: 10_000 });

describe('rtrack hooks', () => {
  const userHooks = {
    model: 'opus',
    hooks: {
      SessionStart: [{ matcher: 'startup', hooks: [{ type: 'command', command: 'echo hello', timeout: 5 }] }],
      PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: './check.sh' }] }],
    },
  };

  it('install keeps every other key and hook, twice adds nothing, uninstall restores the rest exactly; a backup is kept', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const original = `${JSON.stringify(userHooks, null, 2)}\n`;
    writeFileSync(settings, original);
    const first = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(first.code, first.stderr).toBe(0);
    const installed = JSON.parse(readFileSync(settings, 'utf8')) as typeof userHooks & { hooks: Record<string, { hooks: { command: string }[] }[]> };
    expect(installed.model).toBe('opus');
    expect(installed.hooks.PreToolUse).toEqual(userHooks.hooks.PreToolUse);
    expect(installed.hooks.SessionStart![0]).toEqual(userHooks.hooks.SessionStart[0]);
    expect(installed.hooks.SessionStart![1]!.hooks[0]!.command).toMatch(/rtrack\.js' session start --agent claude-code/);
    expect(installed.hooks.SessionEnd![0]!.hooks[0]!.command).toMatch(/session end --agent claude-code/);
    expect(backupsOf(settings).map((b) => readFileSync(b, 'utf8'))).toEqual([original]);
    expect(first.stdout).toContain(backupsOf(settings)[0]);

    const second = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(second.stdout).toMatch(/already installed/);
    expect(JSON.parse(readFileSync(settings, 'utf8'))).toEqual(installed);

    const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(status.stdout).toContain(`${settings}: claude-code hooks installed (SessionStart, SessionEnd)`);

    await runCli(['hooks', 'uninstall', 'claude-code', '--settings', settings], { env: h.env });
    expect(readFileSync(settings, 'utf8')).toBe(original);
  });

  it('an empty hooks object or an empty event list is merged into; uninstall then leaves the user\'s other events', async () => {
    const h = newHome();
    for (const original of ['{\n  "hooks": {}\n}\n', '{\n  "hooks": {\n    "SessionStart": [],\n    "Stop": []\n  }\n}\n']) {
      const settings = join(h.home, 'settings.json');
      writeFileSync(settings, original);
      const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
      expect(r.code, r.stderr).toBe(0);
      expect(commandsIn(settings)).toHaveLength(2);
      expect((await runCli(['hooks', 'uninstall', 'claude-code', '--settings', settings], { env: h.env })).code).toBe(0);
      expect(commandsIn(settings)).toEqual([]);
    }
    expect(JSON.parse(readFileSync(join(h.home, 'settings.json'), 'utf8'))).toEqual({ hooks: { Stop: [] } });
  });

  it('a settings file that is not valid JSON: one line, exit 2, the file unchanged', async () => {
    const h = newHome();
    const settings = join(h.home, 'broken.json');
    writeFileSync(settings, '{ "hooks": { ,\n');
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is not valid JSON .*left unchanged/);
    expect(readFileSync(settings, 'utf8')).toBe('{ "hooks": { ,\n');
    expect(backupsOf(settings)).toEqual([]);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'cursor'], { env: h.env })).code).toBe(2);
  });

  it('--dry-run prints the change and writes nothing; the default file is the user\'s ~/.claude/settings.json (here a temporary HOME)', async () => {
    const h = newHome();
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--dry-run'], { env: h.env });
    expect(r.stdout).toContain(join(h.home, '.claude', 'settings.json'));
    expect(r.stdout).toContain('"SessionStart"');
    expect(existsSync(join(h.home, '.claude', 'settings.json'))).toBe(false);
  });
});

describe('rtrack hooks: writing the settings file safely', () => {
  it('the file is edited, not re-serialized: a large integer, 1.0, key order, tabs and line ends survive byte for byte; uninstall gives back the original', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const original = '{\r\n\t"zeta": 1,\r\n\t"alpha": { "big": 12345678901234567890, "f": 1.0, "e": 1e400 },\r\n\t"hooks": {\r\n\t\t"PreToolUse": []\r\n\t}\r\n}\r\n';
    writeFileSync(settings, original);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(settings, 'utf8');
    expect(text.startsWith('{\r\n\t"zeta": 1,\r\n\t"alpha": { "big": 12345678901234567890, "f": 1.0, "e": 1e400 },\r\n\t"hooks": {\r\n\t\t"PreToolUse": [],\r\n\t\t"SessionStart": [\r\n\t\t\t{')).toBe(true);
    expect(text.endsWith('\r\n\t}\r\n}\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['zeta', 'alpha', 'hooks']);
    const u = await runCli(['hooks', 'uninstall', 'claude-code', '--settings', settings], { env: h.env });
    expect(u.code, u.stderr).toBe(0);
    expect(readFileSync(settings, 'utf8')).toBe(original);
  });

  it('a settings file that is a symbolic link into a dotfiles repository, mode 0600 with an API key: the link stays, its target gets the hooks and keeps 0600; so does the backup', async () => {
    const h = newHome();
    const dotfiles = join(h.home, 'dotfiles');
    mkdirSync(dotfiles);
    mkdirSync(join(h.home, '.claude'));
    const target = join(dotfiles, 'claude-settings.json');
    const original = '{\n  "env": { "ANTHROPIC_API_KEY": "sk-ant-secret" }\n}\n';
    writeFileSync(target, original, { mode: 0o600 });
    const link = join(h.home, '.claude', 'settings.json');
    symlinkSync('../dotfiles/claude-settings.json', link);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../dotfiles/claude-settings.json');
    const settings = JSON.parse(readFileSync(target, 'utf8')) as { env: Record<string, string>; hooks: Record<string, unknown> };
    expect(settings.env.ANTHROPIC_API_KEY).toBe('sk-ant-secret');
    expect(Object.keys(settings.hooks)).toEqual(['SessionStart', 'SessionEnd']);
    expect(mode(target)).toBe(0o600);
    const [backup] = backupsOf(target);
    expect(readFileSync(backup!, 'utf8')).toBe(original);
    expect(mode(backup!)).toBe(0o600);
    expect(readdirSync(join(h.home, '.claude'))).toEqual(['settings.json']); // nothing beside the link
  });

  it('a new settings file is 0600 in a directory made 0700', async () => {
    const h = newHome();
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(join(h.home, '.claude'))).toBe(0o700);
    expect(mode(join(h.home, '.claude', 'settings.json'))).toBe(0o600);
    expect(backupsOf(join(h.home, '.claude', 'settings.json'))).toEqual([]); // nothing to keep
  });

  it('a planted backup link is never followed (what it points to stays as it was), and an earlier backup is never overwritten', async () => {
    const h = newHome();
    const project = join(h.home, 'project', '.claude');
    mkdirSync(project, { recursive: true });
    const settings = join(project, 'settings.json');
    const original = '{\n  "model": "opus"\n}\n';
    writeFileSync(settings, original);
    const victim = join(h.home, 'victim');
    writeFileSync(victim, 'precious\n');
    // What a repository could ship: the old backup name, and the new one for the next seconds.
    symlinkSync(victim, `${settings}.rtrack-backup`);
    const now = Date.now();
    for (let s = 0; s < 30; s++) {
      const stamp = new Date(now + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
      symlinkSync(victim, `${settings}.rtrack-backup-${stamp}`);
    }
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(install.code, install.stderr).toBe(0);
    const uninstall = await runCli(['hooks', 'uninstall', 'claude-code', '--settings', settings], { env: h.env });
    expect(uninstall.code, uninstall.stderr).toBe(0);
    const reinstall = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(reinstall.code, reinstall.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    const backups = backupsOf(settings).filter((b) => !lstatSync(b).isSymbolicLink());
    expect(backups).toHaveLength(3); // one a change, none overwritten
    expect(backups.map((b) => readFileSync(b, 'utf8'))).toEqual([original, expect.stringContaining('session start'), original]);
  });

  it('a file the agent keeps changing while rtrack writes it: one line, exit 1, rtrack writes nothing', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    writeFileSync(settings, '{ "n": 0 }\n');
    const flag = join(h.home, 'saw-rtrack');
    // A stand-in agent that saves its settings over and over (atomically), and notes whether it
    // ever saw rtrack's hooks in them.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const [file, flag] = process.argv.slice(1);
         for (let n = 1; ; n++) {
           if (fs.readFileSync(file, 'utf8').includes('session start')) fs.writeFileSync(flag, '');
           fs.writeFileSync(file + '.w', '{ "n": ' + n + ' }\\n'); fs.renameSync(file + '.w', file);
         }`,
        settings,
        flag,
      ],
      { stdio: 'ignore' },
    );
    try {
      expect(await waitFor(() => !readFileSync(settings, 'utf8').includes('"n": 0 '))).toBe(true); // it runs
      const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/kept changing .*left unchanged/);
    } finally {
      writer.kill('SIGKILL');
      await new Promise((resolve) => writer.once('exit', resolve));
    }
    expect(existsSync(flag)).toBe(false);
    expect(readFileSync(settings, 'utf8')).toMatch(/^\{ "n": \d+ \}\n$/);
    expect(readdirSync(h.home).filter((n) => n.includes('rtrack'))).toEqual([]); // no temporary file, no backup
  });

  it.skipIf(!asRoot)('run as root (sudo), the file keeps its owner and group; so does the backup', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    writeFileSync(settings, '{}\n', { mode: 0o640 });
    chownSync(settings, 65534, 65534); // nobody:nogroup
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(settings, 'utf8')).toContain('session start');
    expect([statSync(settings).uid, statSync(settings).gid, mode(settings)]).toEqual([65534, 65534, 0o640]);
    const [backup] = backupsOf(settings);
    expect([statSync(backup!).uid, statSync(backup!).gid, mode(backup!)]).toEqual([65534, 65534, 0o640]);
  });
});

describe('rtrack hooks: which hooks are rtrack\'s, stale hooks, hooks left behind', () => {
  it('only the command form rtrack installs is rtrack\'s: a user\'s hook that mentions `rtrack session start`, or a wrapper of theirs, survives uninstall and install', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const mine = [
      'echo "remember: rtrack session start --agent claude-code"',
      '~/bin/rtrack session start --agent claude-code',
      `${quote(process.execPath)} ${quote(RTRACK)} session start --agent claude-code --verbose`,
      `[ -f ${quote(RTRACK)} ] && ${quote(process.execPath)} ${quote(RTRACK)} session start --agent claude-code || true`,
    ];
    writeFileSync(settings, `${JSON.stringify({ hooks: { SessionStart: [{ hooks: mine.map((command) => ({ type: 'command', command })) }] } }, null, 2)}\n`);
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/^rtrack: installed /);
    expect(commandsIn(settings)).toEqual([...mine, installedForm(process.execPath, RTRACK, 'start', 'claude-code'), installedForm(process.execPath, RTRACK, 'end', 'claude-code')]);
    const uninstall = await runCli(['hooks', 'uninstall', 'claude-code', '--settings', settings], { env: h.env });
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(commandsIn(settings)).toEqual(mine);
  });

  it('a hook whose command no longer runs (rtrack moved, Node upgraded) is shown as stale by status and repaired by install, in place', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const movedRtrack = installedForm(process.execPath, '/opt/old-rtrack/bin/rtrack.js', 'start', 'claude-code');
    const oldNode = installedForm('/opt/node-18/bin/node', RTRACK, 'end', 'claude-code');
    writeFileSync(settings, `${JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: movedRtrack, timeout: 10 }] }], SessionEnd: [{ hooks: [{ type: 'command', command: oldNode, timeout: 10 }] }] } }, null, 2)}\n`);
    const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(status.stdout).toContain(`${settings}: claude-code hooks stale (SessionStart, SessionEnd): they no longer run, /opt/old-rtrack/bin/rtrack.js is gone, /opt/node-18/bin/node is gone; \`rtrack hooks install claude-code\` repairs them`);
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/^rtrack: updated the claude-code SessionStart and SessionEnd hooks/);
    expect(commandsIn(settings)).toEqual([installedForm(process.execPath, RTRACK, 'start', 'claude-code'), installedForm(process.execPath, RTRACK, 'end', 'claude-code')]);
    const after = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(withoutUnsafe(after.stdout)).toContain(`${settings}: claude-code hooks installed (SessionStart, SessionEnd)\n`);
  });

  it('installing again with other options updates the hooks (a --config added, then taken away) instead of "already installed"', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const config = join(h.home, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n');
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env })).code).toBe(0);
    const withConfig = await runCli(['hooks', 'install', ...allowShared(config), 'claude-code', '--settings', settings, '--config', config], { env: h.env });
    expect(withConfig.code, withConfig.stderr).toBe(0);
    expect(withConfig.stdout).toMatch(/^rtrack: updated /);
    expect(commandsIn(settings)).toEqual([installedForm(process.execPath, RTRACK, 'start', 'claude-code', config), installedForm(process.execPath, RTRACK, 'end', 'claude-code', config)]);
    const without = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(without.stdout).toMatch(/^rtrack: updated /);
    expect(commandsIn(settings)).toEqual([installedForm(process.execPath, RTRACK, 'start', 'claude-code'), installedForm(process.execPath, RTRACK, 'end', 'claude-code')]);
  });

  it('a hook left behind after rtrack was removed, or for a Node that is gone, does nothing; SessionStart says so once, in hooks status\'s words, where it can remember it; while rtrack is there it gets the hook\'s stdin and the agent waits for the shell alone', async () => {
    const h = newHome();
    // rtrack as installed somewhere else: the built package, its dependencies linked.
    const installed = join(h.home, 'lib', 'rtrack');
    mkdirSync(installed, { recursive: true });
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CHECKOUT, part), join(installed, part), { recursive: true });
    symlinkSync(join(CHECKOUT, 'node_modules'), join(installed, 'node_modules'));
    const bin = join(installed, 'bin', 'rtrack.js');
    const settings = join(h.home, 'settings.json');
    const install = spawnSync(process.execPath, [bin, 'hooks', 'install', ...allowShared(bin), 'claude-code', '--settings', settings], { env: h.env, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    const [start, end] = commandsIn(settings);
    expect([start, end]).toEqual([installedForm(process.execPath, bin, 'start', 'claude-code'), installedForm(process.execPath, bin, 'end', 'claude-code')]);

    const log = join(h.home, 'state', 'rtrack', 'hooks.log');
    const t0 = Date.now();
    const there = runHook(start!, '{not json', h.env);
    expect([there.status, there.stdout, there.stderr]).toEqual([0, '', '']);
    expect(Date.now() - t0).toBeLessThan(1000); // the shell, not rtrack (which reads a second for its input when it is not closed)
    expect(await waitFor(() => existsSync(log) && /session start: hook input on stdin is not JSON\n$/.test(readFileSync(log, 'utf8')))).toBe(true); // stdin reached rtrack
    // No stdin at all (closed): nothing runs, nothing is said, exit 0
    const closed = spawnSync('/bin/sh', ['-c', 'sh -c "$0" <&-', start!], { env: h.env, encoding: 'utf8' });
    expect([closed.status, closed.stdout, closed.stderr]).toEqual([0, '', '']);

    renameSync(installed, `${installed}-removed`);
    const input = JSON.stringify({ session_id: 's-1', hook_event_name: 'SessionStart', cwd: h.home, source: 'startup' });
    const first = runHook(start!, input, h.env);
    expect([first.status, first.stdout, first.stderr]).toEqual([
      1,
      '',
      `rtrack: the claude-code hooks in this agent's settings are stale: they no longer run, ${bin} or ${process.execPath} is gone; install rtrack again and run \`rtrack hooks install claude-code\` (or \`rtrack hooks uninstall claude-code\`), or delete them from the settings (said once)\n`,
    ]);
    for (const command of [start!, end!, installedForm('/opt/node-18/bin/node', RTRACK, 'start', 'claude-code'), waitedForm(process.execPath, bin, 'start', 'claude-code')]) {
      const gone = runHook(command, input, h.env);
      expect([gone.status, gone.stdout, gone.stderr]).toEqual([0, '', '']);
    }
    // Where there is no state directory to remember it in, nothing is said.
    const elsewhere = newHome();
    const silent = runHook(start!, input, elsewhere.env);
    expect([silent.status, silent.stdout, silent.stderr]).toEqual([0, '', '']);
    expect(existsSync(join(elsewhere.home, 'state'))).toBe(false);
    await new Promise((r) => setTimeout(r, 300)); // anything detached would have written by now
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1); // nothing ran

    // Installing again forgets it was said: once rtrack is gone again, it is said again.
    renameSync(`${installed}-removed`, installed);
    expect(spawnSync(process.execPath, [bin, 'hooks', 'install', ...allowShared(bin), 'claude-code', '--settings', settings], { env: h.env, encoding: 'utf8' }).status).toBe(0);
    renameSync(installed, `${installed}-removed`);
    expect(runHook(start!, input, h.env).status).toBe(1);
  });

  it('hooks installed in the form the agent waited for are noted by status, and updated by install', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    writeFileSync(settings, `${JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: waitedForm(process.execPath, RTRACK, 'start', 'claude-code'), timeout: 10 }] }] } }, null, 2)}\n`);
    const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(status.stdout).toContain(`${settings}: claude-code hooks installed (SessionStart); an earlier form that has the agent wait for Node at each session's start and end: \`rtrack hooks install claude-code\` updates it`);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env })).stdout).toMatch(/^rtrack: updated /);
    expect(commandsIn(settings)).toEqual([installedForm(process.execPath, RTRACK, 'start', 'claude-code'), installedForm(process.execPath, RTRACK, 'end', 'claude-code')]);
  });
});

describe('rtrack hooks: every agent, by its name or its command\'s', () => {
  it('`claude` and `gemini` name claude-code and gemini-cli; Gemini CLI\'s hooks go to ~/.gemini/settings.json, with a timeout in milliseconds; the help lists both names', async () => {
    const h = newHome();
    const claude = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude'], { env: h.env });
    expect(claude.code, claude.stderr).toBe(0);
    expect(commandsIn(join(h.home, '.claude', 'settings.json'))).toEqual([installedForm(process.execPath, RTRACK, 'start', 'claude-code'), installedForm(process.execPath, RTRACK, 'end', 'claude-code')]);
    const gemini = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini'], { env: h.env });
    expect(gemini.code, gemini.stderr).toBe(0);
    const geminiSettings = join(h.home, '.gemini', 'settings.json');
    expect(commandsIn(geminiSettings)).toEqual([installedForm(process.execPath, RTRACK, 'start', 'gemini-cli'), installedForm(process.execPath, RTRACK, 'end', 'gemini-cli')]);
    expect((JSON.parse(readFileSync(geminiSettings, 'utf8')) as Settings).hooks.SessionStart![0]!.hooks[0]!.timeout).toBe(10_000);
    expect((JSON.parse(readFileSync(join(h.home, '.claude', 'settings.json'), 'utf8')) as Settings).hooks.SessionStart![0]!.hooks[0]!.timeout).toBe(10);
    expect((await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env })).code).toBe(0);
    expect(commandsIn(geminiSettings)).toEqual([]);
    expect(commandsIn(join(h.home, '.claude', 'settings.json'))).toHaveLength(2);
    for (const command of ['install', 'uninstall']) {
      const help = (await runCli(['hooks', command, '--help'], { env: h.env })).stdout.replace(/\s+/g, ' ');
      expect(help).toContain('claude-code (or claude), gemini-cli (or gemini), opencode (a plugin); codex needs none (its sessions are found by their markers)');
    }
  });

  it('codex needs no hooks: one line, exit 2, nothing written; an unknown agent is named with the ones rtrack knows', async () => {
    const h = newHome();
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'codex'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Codex needs no hooks: rtrack finds its sessions by the markers/);
    const unknown = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'cursor'], { env: h.env });
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/unknown agent "cursor" \(hooks: claude-code \(claude\), gemini-cli \(gemini\); a plugin: opencode; codex needs none\)\n$/)]);
    expect(readdirSync(h.home)).toEqual([]);
  });

  it('opencode: rtrack\'s plugin file in $XDG_CONFIG_HOME/opencode/plugins (0600, a 0700 directory), twice changes nothing, status shows it; a file of that name that is not rtrack\'s is never overwritten or removed; uninstall removes only rtrack\'s', async () => {
    const h = newHome();
    const dir = join(h.home, 'config', 'opencode', 'plugins');
    const plugin = join(dir, 'rtrack.js');
    const dry = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode', '--dry-run'], { env: h.env });
    expect([dry.code, existsSync(plugin)]).toEqual([0, false]);
    expect(dry.stdout).toContain(`rtrack: dry run — ${plugin} would be written:\n// rtrack: the opencode plugin of rtrack`);
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode'], { env: h.env });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain(`rtrack: installed the opencode plugin at ${plugin}: opencode loads it at its next start\n`);
    expect([mode(plugin), mode(dir)]).toEqual([0o600, 0o700]);
    const text = readFileSync(plugin, 'utf8');
    expect(text).toContain(`const NODE = ${JSON.stringify(process.execPath)};\nconst RTRACK = ${JSON.stringify(RTRACK)};\nconst CONFIG = null;`);
    expect(text).not.toMatch(/process\.on\(|SIGTERM"/); // no signal listener: opencode run must still die on SIGTERM
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode'], { env: h.env })).stdout).toContain('already installed');
    expect(readdirSync(dir)).toEqual(['rtrack.js']); // no backup, no temporary file: nothing else opencode would load
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: h.home });
    expect(withoutUnsafe(status.stdout)).toContain(`opencode (its plugin):\n  ${plugin}: rtrack's plugin installed (session start, OPENCODE_SESSION_ID in tool commands, session end)\n`);
    // with another --config: updated in place
    const config = join(h.home, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n');
    const update = await runCli(['hooks', 'install', ...allowShared(config), 'opencode', '--config', config], { env: h.env });
    expect(update.stdout).toContain(`rtrack: updated the opencode plugin at ${plugin}`);
    expect(readFileSync(plugin, 'utf8')).toContain(`const CONFIG = ${JSON.stringify(config)};`);
    expect((await runCli(['hooks', 'uninstall', 'opencode'], { env: h.env })).stdout).toBe(`rtrack: removed rtrack's opencode plugin ${plugin}; opencode runs without it from its next start\n`);
    expect(readdirSync(dir)).toEqual([]);

    // someone else's rtrack.js, or an edited copy of rtrack's: refused, left as it is
    for (const foreign of ['export const Mine = async () => ({});\n', text.replace('10000', '5000')]) {
      writeFileSync(plugin, foreign);
      const refused = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode'], { env: h.env });
      expect([refused.code, refused.stderr]).toEqual([2, `rtrack: hooks: ${plugin} is not rtrack's plugin (a file of that name that rtrack did not write, or an edited copy); it was left unchanged\n`]);
      const kept = await runCli(['hooks', 'uninstall', 'opencode'], { env: h.env });
      expect([kept.code, readFileSync(plugin, 'utf8')]).toEqual([0, foreign]);
      expect((await runCli(['hooks', 'status'], { env: h.env, cwd: h.home })).stdout).toContain(`  ${plugin}: not rtrack's plugin`);
    }
    // a plugin whose rtrack is gone is stale; install repairs it; a project's plugin directory with --settings
    writeFileSync(plugin, text.replace(JSON.stringify(RTRACK), JSON.stringify('/gone/bin/rtrack.js')));
    expect((await runCli(['hooks', 'status'], { env: h.env, cwd: h.home })).stdout).toContain(`  ${plugin}: rtrack's plugin, stale: it no longer runs rtrack, /gone/bin/rtrack.js is gone; \`rtrack hooks install opencode\` repairs it\n`);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode'], { env: h.env })).code).toBe(0);
    expect(readFileSync(plugin, 'utf8')).toBe(text);
    const project = join(h.home, 'proj', '.opencode', 'plugins');
    mkdirSync(project, { recursive: true });
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode', '--settings', project], { env: h.env })).code).toBe(0);
    expect(readFileSync(join(project, 'rtrack.js'), 'utf8')).toBe(text);
  });

  it('a Gemini CLI settings file keeps its comments; uninstall gives it back byte for byte; hooksConfig.enabled: false is pointed out', async () => {
    const h = newHome();
    const project = join(h.home, 'proj');
    mkdirSync(join(project, '.gemini'), { recursive: true });
    const settings = join(project, '.gemini', 'settings.json');
    const original = '// my Gemini settings\n{\n  /* the theme */\n  "ui": { "theme": "GitHub" }, // inline\n  "hooksConfig": {\n    "enabled": false\n  }\n}\n';
    writeFileSync(settings, original);
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini-cli', '--settings', '.gemini/settings.json'], { env: h.env, cwd: project });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain(`rtrack: note: ${settings} turns every hook off (hooksConfig.enabled: false): gemini-cli runs none until that is changed`);
    const text = readFileSync(settings, 'utf8');
    for (const comment of ['// my Gemini settings\n', '/* the theme */', '"ui": { "theme": "GitHub" }, // inline']) expect(text).toContain(comment);
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: project });
    expect(withoutUnsafe(status.stdout)).toContain(`  ${settings}: gemini-cli hooks installed (SessionStart, SessionEnd); every hook is turned off here (hooksConfig.enabled: false)\n`);
    // Claude Code's settings are plain JSON: a comment there is refused
    mkdirSync(join(project, '.claude'));
    writeFileSync(join(project, '.claude', 'settings.json'), original);
    const claude = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--settings', '.claude/settings.json'], { env: h.env, cwd: project });
    expect([claude.code, claude.stderr]).toEqual([2, expect.stringMatching(/settings.json is not valid JSON \(InvalidCommentToken at line 1 column 1\); it was left unchanged\n$/)]);
    expect((await runCli(['hooks', 'uninstall', 'gemini', '--settings', settings], { env: h.env })).code).toBe(0);
    expect(readFileSync(settings, 'utf8')).toBe(original);
  });

  it('status lists every agent\'s settings files, the user\'s and the project\'s: installed (which events), stale, no rtrack hooks, no such file, not valid JSON', async () => {
    const h = newHome();
    const project = join(h.home, 'proj');
    mkdirSync(join(project, '.gemini'), { recursive: true });
    mkdirSync(join(project, '.claude'), { recursive: true });
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude'], { env: h.env })).code).toBe(0);
    mkdirSync(join(h.home, '.gemini'));
    writeFileSync(join(h.home, '.gemini', 'settings.json'), '{ "ui": ,}');
    writeFileSync(join(project, '.gemini', 'settings.json'), `${JSON.stringify({ hooks: { SessionEnd: [{ hooks: [{ type: 'command', command: installedForm(process.execPath, '/gone/bin/rtrack.js', 'end', 'gemini-cli') }] }] } })}\n`);
    writeFileSync(join(project, '.claude', 'settings.local.json'), '{ "model": "opus" }\n');
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: project });
    expect(status.code, status.stderr).toBe(0);
    const lines = withoutUnsafe(status.stdout).split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'claude-code (claude):',
      `  ${join(h.home, '.claude', 'settings.json')}: claude-code hooks installed (SessionStart, SessionEnd)`,
      `  ${join(project, '.claude', 'settings.json')}: no such file`,
      `  ${join(project, '.claude', 'settings.local.json')}: no rtrack hooks`,
      'gemini-cli (gemini):',
      `  ${join(h.home, '.gemini', 'settings.json')}: not valid JSON`,
      `  ${join(project, '.gemini', 'settings.json')}: gemini-cli hooks stale (SessionEnd): they no longer run, /gone/bin/rtrack.js is gone; \`rtrack hooks install gemini-cli\` repairs them`,
    ]);
    expect(lines.slice(7)).toEqual([
      'opencode (its plugin):',
      `  ${join(h.home, 'config', 'opencode', 'plugins', 'rtrack.js')}: no such file`,
      `  ${join(project, '.opencode', 'plugins', 'rtrack.js')}: no such file`,
      expect.stringMatching(/^codex: Codex needs no hooks/),
      expect.stringMatching(/^claude-code sessions: reaping is off: /),
      expect.stringMatching(/^follower: not running; state in /),
      '',
    ]);
  });
});

describe('rtrack hooks: the first hour (reaping, the config the follower reads)', () => {
  const userConfig = (h: Home): string => join(h.home, 'config', 'rtrack', 'config.yaml');

  it('install --reap writes the per-user config ($XDG_CONFIG_HOME/rtrack/config.yaml, 0600 in a 0700 directory); install and status say reaping is on and which config the follower reads', async () => {
    const h = newHome();
    const plain = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude'], { env: h.env });
    expect(plain.stdout).toContain(`rtrack: reaping is off: the follower reads no config file (there is no ${userConfig(h)}), the defaults; \`rtrack hooks install claude-code --reap\` turns it on\n`);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rtrack: the claude-code hooks are already installed in ${join(h.home, '.claude', 'settings.json')}\n`);
    expect(r.stdout).toContain(`rtrack: turned reaping on in ${userConfig(h)}\n`);
    expect(r.stdout).toContain(`rtrack: reaping is on: the follower reads ${userConfig(h)}\n`);
    expect(readFileSync(userConfig(h), 'utf8')).toMatch(/^diagnostics:\n {2}resource_tracking:\n {4}sessions:\n {6}reap: true/m);
    expect([mode(join(h.home, 'config')), mode(join(h.home, 'config', 'rtrack')), mode(userConfig(h))]).toEqual([0o700, 0o700, 0o600]);
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: h.home });
    expect(status.stdout).toContain(`\nclaude-code sessions: reaping is on: the follower reads ${userConfig(h)}\n`);
    // After uninstall no session is followed, whatever the config says: status reads what is there now
    expect((await runCli(['hooks', 'uninstall', 'claude'], { env: h.env })).code).toBe(0);
    const after = await runCli(['hooks', 'status'], { env: h.env, cwd: h.home });
    expect(after.stdout).not.toContain('reaping is on');
    expect(after.stdout).toContain('\nno agent hooks are installed, so no session is followed: `rtrack hooks install claude --reap`');
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env })).code).toBe(0);
    const again = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env });
    expect(again.stdout).not.toContain('turned reaping on');
    expect(backupsOf(userConfig(h))).toEqual([]);
  });

  it('install --reap updates an existing config: comments, other keys and their order survive; a config that is not valid is left alone (exit 2)', async () => {
    const h = newHome();
    mkdirSync(join(h.home, 'config', 'rtrack'), { recursive: true });
    const original = '# my rtrack settings\nother_app: { x: 1 }   # not rtrack\'s\ndiagnostics:\n    resource_tracking:\n        keep: [ sccache ]    # mine\n        sessions:\n            linger_ms: 500 # quick\n            reap: false\n';
    writeFileSync(userConfig(h), original);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini', '--reap'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(userConfig(h), 'utf8')).toBe(original.replace('reap: false', 'reap: true').replace('[ sccache ]    # mine', '[ sccache ] # mine').replace('{ x: 1 }   #', '{ x: 1 } #'));
    expect(backupsOf(userConfig(h)).map((b) => readFileSync(b, 'utf8'))).toEqual([original]);

    const broken = 'diagnostics:\n  resource_tracking:\n    sesions: { reap: true }\n';
    writeFileSync(userConfig(h), broken);
    const refused = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env });
    expect([refused.code, refused.stderr]).toEqual([2, `rtrack: ${userConfig(h)}: unknown key diagnostics.resource_tracking.sesions\n`]);
    expect(readFileSync(userConfig(h), 'utf8')).toBe(broken);
    expect(existsSync(join(h.home, '.claude'))).toBe(false); // nothing written
  });

  it('a --config file rtrack would read nothing from, or with unknown keys, is refused (one line, exit 2); --reap with --config too; the help shows the layout rtrack reads', async () => {
    const h = newHome();
    const cases: [string, string][] = [
      ['sessions:\n  reap: true\n', 'rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking (sessions is at the top level)'],
      ['resource_tracking:\n  sessions: { reap: true }\n', 'rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking (resource_tracking is at the top level)'],
      ['diagnostics:\n  sessions: { reap: true }\n', 'rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking (diagnostics.sessions is one level too high)'],
      ['# nothing yet\n', 'rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking'],
      ['diagnostics:\n  resource_tracking:\n    sessions: { reap: true, linger: 5 }\n', 'diagnostics.resource_tracking.sessions.linger: unknown key'],
    ];
    for (const [i, [text, why]] of cases.entries()) {
      const config = join(h.home, `c${i}.yaml`);
      writeFileSync(config, text);
      const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--config', config], { env: h.env });
      expect([r.code, r.stderr]).toEqual([2, `rtrack: ${config}: ${why}\n`]);
    }
    const both = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--reap', '--config', join(h.home, 'c0.yaml')], { env: h.env });
    expect([both.code, both.stderr.split('\n').length]).toEqual([2, 2]);
    expect(both.stderr).toMatch(/--reap turns reaping on in .*config\.yaml, which the follower does not read when the hooks name --config/);
    expect(readdirSync(h.home).sort()).toEqual(['c0.yaml', 'c1.yaml', 'c2.yaml', 'c3.yaml', 'c4.yaml']);

    const good = join(h.home, 'good.yaml');
    writeFileSync(good, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n');
    const r = await runCli(['hooks', 'install', ...allowShared(good), 'claude-code', '--config', good], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rtrack: reaping is on: the follower reads ${good}\n`);
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: h.home });
    expect(withoutUnsafe(status.stdout, good)).toContain(`${join(h.home, '.claude', 'settings.json')}: claude-code hooks installed (SessionStart, SessionEnd); reaping is on: the follower reads ${good}\n`);

    const help = (await runCli(['hooks', 'install', ...ALLOW_SHARED, '--help'], { env: h.env })).stdout;
    expect(help).not.toContain('sessions: { reap: true }');
    expect(help).toContain('  diagnostics:\n    resource_tracking:\n      sessions:\n        reap: true');
    expect(help).toContain('$XDG_CONFIG_HOME/rtrack/config.yaml');
  });
});
