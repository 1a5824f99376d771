// What `rtrack hooks install|uninstall|status` and the per-user config editing must never do to a
// user's files, whatever the files are or whoever else is at work (an adversarial review's
// findings, F1…F10, each a test here): lose the agent's settings while it saves them, hand the
// user's files to root, edit a key the agent does not read, mangle bytes, follow a repository's
// links out of it, hang on a FIFO, split hard links, leave rtrack's plugin behind a link, change
// line ends; and never install hooks that would run a file someone else could put in place.
// Real files and processes in temporary directories; HOME and XDG_* point there.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, cpSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hookCommand } from '../../src/hooks/hook-commands.js';
import { ALLOW_SHARED } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const asRoot = process.getuid?.() === 0;
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Home {
  home: string;
  env: NodeJS.ProcessEnv;
}

function newHome(): Home {
  const home = tempDir('safety');
  return { home, env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') } };
}

const backupsOf = (file: string): string[] => {
  const dir = join(file, '..');
  const base = file.slice(dir.length + 1);
  return readdirSync(dir).filter((n) => n.startsWith(`${base}.rtrack-backup`));
};
const oneLine = (stderr: string): number => stderr.trim().split('\n').length;

describe('settings safety: hooks that would run what someone else could put in place (F1)', () => {
  /** rtrack as a user tries it in `dir`: the built package and its two dependencies; its bin/rtrack.js. */
  function copyInto(dir: string): string {
    const copy = join(dir, 'rtrack-try');
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CHECKOUT, part), join(copy, part), { recursive: true });
    for (const dep of ['jsonc-parser', 'yaml']) cpSync(join(CHECKOUT, 'node_modules', dep), join(copy, 'node_modules', dep), { recursive: true });
    return join(copy, 'bin', 'rtrack.js');
  }
  const commandsIn = (settings: string): string[] => [...readFileSync(settings, 'utf8').matchAll(/"command": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

  it('rtrack tried out in a sticky directory anyone can write (like /tmp): install refuses (one line, exit 2, nothing written), so a file another user puts there once it is removed never runs; --allow-shared-path installs, and status marks the hooks unsafe, stale or not', async () => {
    const h = newHome();
    const shared = tempDir('safety-shared');
    chmodSync(shared, 0o1777);
    const bin = copyInto(shared);
    const why = `rtrack ${bin}: ${shared} is writable by its group and others (mode 1777, sticky: a name removed from it can be taken by anyone)`;
    const settings = join(h.home, 'settings.json');
    writeFileSync(settings, '{}\n');
    const install = spawnSync(process.execPath, [bin, 'hooks', 'install', 'claude-code', '--settings', settings], { env: h.env, encoding: 'utf8' });
    expect([install.status, install.stderr]).toEqual([2, `rtrack: hooks: the hooks would run files others could replace, and so have your agent run their code as you: ${why}; install rtrack (and Node, the config) where only you and root can write, or give --allow-shared-path; nothing was written\n`]);
    expect([readFileSync(settings, 'utf8'), readdirSync(h.home)]).toEqual(['{}\n', ['settings.json']]);
    const plugin = spawnSync(process.execPath, [bin, 'hooks', 'install', 'opencode', '--dry-run'], { env: h.env, encoding: 'utf8' });
    expect([plugin.status, plugin.stderr]).toEqual([2, expect.stringMatching(/^rtrack: hooks: the plugin would run files others could replace/)]);

    if (asRoot) {
      // The user removes the copy (or /tmp is wiped at boot); another user takes the path over: nothing of theirs runs.
      rmSync(join(shared, 'rtrack-try'), { recursive: true, force: true });
      const marker = join(shared, 'ran');
      const plant = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `mkdir -p '${shared}/rtrack-try/bin' && echo "require('fs').writeFileSync('${marker}', String(process.getuid()))" > '${bin}'`]);
      expect(plant.status).toBe(0);
      for (const command of commandsIn(settings)) spawnSync('/bin/sh', ['-c', command], { input: '{"session_id":"s","hook_event_name":"SessionStart"}', env: h.env, timeout: 10_000 });
      expect(existsSync(marker) ? `the hook ran another user's file as uid ${readFileSync(marker, 'utf8')}` : 'nothing ran').toBe('nothing ran');
      rmSync(join(shared, 'rtrack-try'), { recursive: true, force: true });
      copyInto(shared);
    }

    const allowed = spawnSync(process.execPath, [bin, 'hooks', 'install', 'claude-code', '--settings', settings, '--allow-shared-path'], { env: h.env, encoding: 'utf8' });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/^rtrack: installed the claude-code SessionStart and SessionEnd hooks/);
    expect(allowed.stdout).toContain(`\nrtrack: note: --allow-shared-path: the hooks run files others could replace (${why}); \`rtrack hooks status\` marks them unsafe\n`);
    const unsafe = `; unsafe: ${why}: someone else could have your agent run their code as you\n`;
    const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(status.stdout).toContain(`${settings}: claude-code hooks installed (SessionStart, SessionEnd); they run ${bin}${unsafe}`);
    const pluginDir = join(h.home, 'config', 'opencode', 'plugins');
    expect(spawnSync(process.execPath, [bin, 'hooks', 'install', 'opencode', '--allow-shared-path'], { env: h.env, encoding: 'utf8' }).status).toBe(0);
    expect((await runCli(['hooks', 'status'], { env: h.env, cwd: h.home })).stdout).toContain(`  ${join(pluginDir, 'rtrack.js')}: rtrack's plugin installed (session start, OPENCODE_SESSION_ID in tool commands, session end); it runs ${bin}${unsafe}`);
    rmSync(join(shared, 'rtrack-try'), { recursive: true, force: true });
    const removed = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(removed.stdout).toContain(`${settings}: claude-code hooks stale (SessionStart, SessionEnd): they no longer run, ${bin} is gone; \`rtrack hooks install claude-code\` repairs them${unsafe}`);
  });

  it('a --config in a directory its group can write, or a file of another user\'s (as root): install refuses, naming it; status marks hooks that name it unsafe', async () => {
    const h = newHome();
    const team = join(h.home, 'team');
    mkdirSync(team);
    chmodSync(team, 0o775);
    const config = join(team, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n');
    const groupWritable = `the config ${config}: ${team} is writable by its group (mode 0775)`;
    const r = await runCli(['hooks', 'install', 'claude', '--config', config], { env: h.env });
    expect([r.code, oneLine(r.stderr)]).toEqual([2, 1]);
    expect(r.stderr).toContain(groupWritable);
    expect(existsSync(join(h.home, '.claude'))).toBe(false);
    const settings = join(h.home, 'settings.json');
    const hook = hookCommand({ node: process.execPath, bin: RTRACK, subcommand: 'start', agent: 'claude-code', config });
    writeFileSync(settings, `${JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: hook }] }] } })}\n`);
    const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
    expect(status.stdout).toMatch(new RegExp(`^${settings}: claude-code hooks installed \\(SessionStart\\); reaping is on: the follower reads ${config}; unsafe: .*${groupWritable.replace(/[()]/g, '\\$&')}`, 'm'));
    if (asRoot) {
      chmodSync(team, 0o755);
      chownSync(config, 65534, 65534);
      const theirs = await runCli(['hooks', 'install', 'claude', '--config', config], { env: h.env });
      expect([theirs.code, theirs.stderr]).toEqual([2, expect.stringContaining(`the config ${config}: ${config} is owned by uid 65534`)]);
      expect((await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home })).stdout).toContain(`the config ${config}: ${config} is owned by uid 65534`);
    }
  });
});

describe('settings safety: an agent saving its settings in place while rtrack edits them (F2)', () => {
  it('the agent truncated its settings and writes them 300 ms later: rtrack waits for them, keeps them and adds its hooks', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const text = '{\n  "env": { "ANTHROPIC_API_KEY": "sk-ant-secret" },\n  "model": "sonnet"\n}\n';
    writeFileSync(settings, text, { mode: 0o600 });
    const fd = openSync(settings, 'w'); // the agent's save: O_TRUNC …
    const saved = new Promise<void>((resolve) =>
      setTimeout(() => {
        writeSync(fd, text); // … then the write, 300 ms later (an async write on a busy machine)
        closeSync(fd);
        resolve();
      }, 300),
    );
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    await saved;
    const after = readFileSync(settings, 'utf8');
    expect(r.code, r.stderr).toBe(0);
    expect(after).toContain('sk-ant-secret');
    expect(after).toContain('session start');
    for (const backup of backupsOf(settings)) expect(readFileSync(join(h.home, backup), 'utf8')).toBe(text); // never a blank backup standing for the settings
  });

  it('a blank file that keeps being written: refused (one line, exit 1, unchanged); one that has stayed blank is an empty file: installed into, no blank backup', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    writeFileSync(settings, '');
    const toucher = spawn(process.execPath, ['-e', `const fs = require('node:fs'); setInterval(() => fs.writeFileSync(${JSON.stringify(settings)}, ''), 100);`], { stdio: 'ignore' });
    try {
      const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
      expect([r.code, oneLine(r.stderr)]).toEqual([1, 1]);
      expect(r.stderr).toMatch(/is empty and was changed \d+ ms ago: something \(the agent\?\) is writing it; it was left unchanged/);
    } finally {
      toucher.kill('SIGKILL');
      await new Promise((resolve) => toucher.once('exit', resolve));
    }
    expect(readFileSync(settings, 'utf8')).toBe('');
    writeFileSync(settings, '\n');
    utimesSync(settings, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(settings, 'utf8')).toContain('session start');
    expect(backupsOf(settings)).toEqual([]);
  });
});

describe('settings safety: files rtrack must not write anew as they are', () => {
  it('bytes that are not UTF-8 (a Latin-1 value): refused (one line, exit 2), byte for byte unchanged (F6)', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const original = Buffer.concat([Buffer.from('{\n  "env": { "KEY": "'), Buffer.from([0x61, 0x62, 0xff, 0xfe, 0x63, 0x64]), Buffer.from('" }\n}\n')]);
    writeFileSync(settings, original);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect([r.code, oneLine(r.stderr)]).toEqual([2, 1]);
    expect(r.stderr).toContain(`${settings} holds bytes that are not UTF-8 (the first at byte 23): rtrack would turn them into U+FFFD; it was left unchanged`);
    expect(readFileSync(settings).equals(original)).toBe(true);
    expect(backupsOf(settings)).toEqual([]);
  });

  it('a settings file with a second name (a hard link): refused with a hint (one line, exit 2), both names keep sharing it (F10a)', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    const other = join(h.home, 'dotfiles-settings.json');
    writeFileSync(settings, '{ "model": "opus" }\n');
    linkSync(settings, other);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--settings', settings], { env: h.env });
    expect([r.code, oneLine(r.stderr)]).toEqual([2, 1]);
    expect(r.stderr).toContain(`${settings} has 2 names (hard links): writing it anew would leave the others with the old content; it was left unchanged (make the other names symbolic links to it, which rtrack follows)`);
    expect([statSync(settings).ino, statSync(settings).nlink, readFileSync(settings, 'utf8')]).toEqual([statSync(other).ino, 2, '{ "model": "opus" }\n']);
    // --reap with a per-user config rtrack must not write (hard-linked here): refused before the settings are written
    const config = join(h.home, 'config', 'rtrack', 'config.yaml');
    mkdirSync(join(h.home, 'config', 'rtrack'), { recursive: true });
    writeFileSync(config, '# mine\n');
    linkSync(config, join(h.home, 'config.yaml'));
    const reap = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env });
    expect([reap.code, reap.stderr]).toEqual([2, `rtrack: hooks: ${config} has 2 names (hard links): writing it anew would leave the others with the old content; it was left unchanged (make the other names symbolic links to it, which rtrack follows)\n`]);
    expect(existsSync(join(h.home, '.claude'))).toBe(false);
  });
});

describe('settings safety: run as root with the user\'s HOME (sudo -E, sudo on distributions that keep HOME) (F4)', () => {
  it.skipIf(!asRoot)('what install --reap creates in the user\'s home is the user\'s (their ~/.claude, ~/.config, the per-user config); in a directory of root\'s, root\'s', async () => {
    const h = newHome();
    chownSync(h.home, 65534, 65534);
    chmodSync(h.home, 0o700);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude-code', '--reap'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    const owners = (paths: string[]): Record<string, [number, number]> => Object.fromEntries(paths.map((p) => [p, [statSync(join(h.home, p)).uid, statSync(join(h.home, p)).gid]]));
    const made = ['.claude', '.claude/settings.json', 'config', 'config/rtrack', 'config/rtrack/config.yaml'];
    expect(owners(made)).toEqual(Object.fromEntries(made.map((p) => [p, [65534, 65534]])));
    // a directory of root's in the home (made by an earlier `sudo`): what is made in it is root's, as the directory is
    mkdirSync(join(h.home, '.gemini'), { mode: 0o755 });
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini'], { env: h.env })).code).toBe(0);
    expect(owners(['.gemini/settings.json'])).toEqual({ '.gemini/settings.json': [0, 0] });
  });
});

describe('settings safety: a key given twice in one object (F5)', () => {
  const RTRACK_START = "[ -f '/x/bin/rtrack.js' ] && [ -x '/usr/bin/node' ] && '/usr/bin/node' '/x/bin/rtrack.js' session start --agent claude-code || true";

  it('the agents read the last, an edit changes the first: install and uninstall refuse (one line, exit 2, unchanged); status says why', async () => {
    const h = newHome();
    const settings = join(h.home, 'settings.json');
    // uninstall would have removed the user's hook (the first "hooks") and left rtrack's (the last, which the agent runs)
    const twice = `{\n  "hooks": {\n    "SessionStart": [ { "hooks": [ { "type": "command", "command": "echo my-own-hook" } ] } ]\n  },\n  "hooks": {\n    "SessionStart": [ { "hooks": [ { "type": "command", "command": ${JSON.stringify(RTRACK_START)}, "timeout": 10 } ] } ]\n  }\n}\n`;
    // install would have added hooks to the first "SessionStart", which the agent never reads
    const nested = '{\n  "hooks": {\n    "SessionStart": [],\n    "PreToolUse": [],\n    "SessionStart": [ { "hooks": [ { "type": "command", "command": "echo mine" } ] } ]\n  }\n}\n';
    for (const [original, key, lines] of [[twice, 'hooks', '2 and 5'], [nested, 'SessionStart', '3 and 5']] as const) {
      writeFileSync(settings, original);
      for (const command of ['install', 'uninstall']) {
        const r = await runCli(['hooks', command, ...(command === 'install' ? ALLOW_SHARED : []), 'claude-code', '--settings', settings], { env: h.env });
        expect([r.code, r.stderr]).toEqual([2, `rtrack: hooks: ${settings} has the key "${key}" twice in one object (lines ${lines}): the agent reads only the last, an edit would change the first; remove one of them; it was left unchanged\n`]);
        expect(readFileSync(settings, 'utf8')).toBe(original);
      }
      const status = await runCli(['hooks', 'status', '--settings', settings], { env: h.env, cwd: h.home });
      expect(status.stdout).toContain(`${settings}: not usable: the key "${key}" twice in one object (lines ${lines}): the agent reads only the last\n`);
    }
    expect(backupsOf(settings)).toEqual([]);
  });
});

describe('settings safety: a repository\'s files that are not settings (F8)', () => {
  it('a FIFO, a link to /dev/zero, a file over 1 MiB, a config named by a hook that is /dev/zero: `rtrack sessions` and `hooks status` neither hang nor read them; status says why; install refuses', async () => {
    const h = newHome();
    const repo = join(h.home, 'repo');
    mkdirSync(join(repo, '.claude'), { recursive: true });
    mkdirSync(join(repo, '.gemini'), { recursive: true });
    mkfifoSync(join(repo, '.claude', 'settings.json'));
    symlinkSync('/dev/zero', join(repo, '.claude', 'settings.local.json'));
    const hook = (config: string): string => hookCommand({ node: process.execPath, bin: RTRACK, subcommand: 'start', agent: 'gemini-cli', config });
    writeFileSync(join(repo, '.gemini', 'settings.json'), `${JSON.stringify({ hooks: { SessionStart: [{ hooks: [{ type: 'command', command: hook('/dev/zero') }] }] } })}\n`);
    mkdirSync(join(h.home, '.gemini'));
    writeFileSync(join(h.home, '.gemini', 'settings.json'), `{ "padding": "${'x'.repeat(1024 * 1024)}" }\n`);
    const sessions = await runCli(['sessions'], { env: h.env, cwd: repo, timeoutMs: 15_000 });
    expect([sessions.code, sessions.signal], sessions.stderr).toEqual([0, null]);
    expect(sessions.stdout).toContain('rtrack: gemini-cli sessions: the follower cannot use its config: /dev/zero: cannot read config: not a regular file: not read');
    const status = await runCli(['hooks', 'status'], { env: h.env, cwd: repo, timeoutMs: 15_000 });
    expect([status.code, status.signal], status.stderr).toEqual([0, null]);
    for (const line of [
      `  ${join(repo, '.claude', 'settings.json')}: not a regular file: not read`,
      `  ${join(repo, '.claude', 'settings.local.json')}: not a regular file: not read`,
      `  ${join(h.home, '.gemini', 'settings.json')}: larger than 1 MiB: not read`,
      `  ${join(repo, '.gemini', 'settings.json')}: gemini-cli hooks installed (SessionStart); the follower cannot use its config: /dev/zero: cannot read config: not a regular file: not read`,
    ]) {
      expect(status.stdout).toContain(line);
    }
    for (const [agent, settings, why] of [
      ['claude', join(repo, '.claude', 'settings.json'), 'is not a regular file'],
      ['gemini', join(h.home, '.gemini', 'settings.json'), 'is larger than 1 MiB, more than a settings file holds'],
    ]) {
      const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, agent!, '--settings', settings!], { env: h.env, timeoutMs: 15_000 });
      expect([install.code, install.signal, install.stderr]).toEqual([2, null, `rtrack: hooks: ${settings} ${why}; it was left unchanged\n`]);
    }
  });
});

// node:fs has no mkfifo: made with mkfifo(1).
function mkfifoSync(path: string): void {
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo ${path} failed`);
}

describe('settings safety: a cloned repository\'s links (F7)', () => {
  it('a project\'s settings file (--settings) whose link leads out of the project, or nowhere: refused (one line, exit 2), nothing changed or created; a link inside the project is followed', async () => {
    const h = newHome();
    const repo = join(h.home, 'repo');
    mkdirSync(join(repo, '.claude'), { recursive: true });
    mkdirSync(join(h.home, '.docker'));
    const docker = join(h.home, '.docker', 'config.json');
    const secret = '{ "auths": { "registry": { "auth": "c2VjcmV0" } } }\n';
    writeFileSync(docker, secret);
    const settings = join(repo, '.claude', 'settings.json');
    symlinkSync('../../.docker/config.json', settings);
    for (const command of ['install', 'uninstall']) {
      const r = await runCli(['hooks', command, ...(command === 'install' ? ALLOW_SHARED : []), 'claude', '--settings', '.claude/settings.json'], { env: h.env, cwd: repo });
      expect([r.code, r.stderr]).toEqual([2, `rtrack: hooks: ${settings} leads out of its project ${repo} (to ${docker}) through a symbolic link: a repository's link must not have rtrack change a file elsewhere; it was left unchanged\n`]);
    }
    expect([readFileSync(docker, 'utf8'), readdirSync(join(h.home, '.docker'))]).toEqual([secret, ['config.json']]);

    // a dangling link: rtrack would create a file wherever it points
    const local = join(repo, '.claude', 'settings.local.json');
    symlinkSync('../../planted/settings.json', local);
    mkdirSync(join(h.home, 'planted'));
    const dangling = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--settings', local], { env: h.env });
    expect([dangling.code, dangling.stderr]).toEqual([2, `rtrack: hooks: ${local} is a symbolic link to ../../planted/settings.json, which does not exist: rtrack would create a file wherever it points; nothing was written\n`]);
    expect(readdirSync(join(h.home, 'planted'))).toEqual([]);

    // the agent's directory itself a link out of the project; opencode's plugin directory too
    const gemini = join(repo, '.gemini');
    symlinkSync(join(h.home, '.docker'), gemini);
    const out = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini', '--settings', join(gemini, 'settings.json')], { env: h.env });
    expect([out.code, out.stderr]).toEqual([2, expect.stringContaining(`leads out of its project ${repo} (to ${join(h.home, '.docker', 'settings.json')})`)]);
    mkdirSync(join(repo, '.opencode'));
    symlinkSync(join(h.home, 'planted'), join(repo, '.opencode', 'plugins'));
    const plugin = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode', '--settings', join(repo, '.opencode', 'plugins')], { env: h.env });
    expect([plugin.code, plugin.stderr]).toEqual([2, expect.stringContaining(`leads out of its project ${repo} (to ${join(h.home, 'planted', 'rtrack.js')})`)]);
    expect([readdirSync(join(h.home, '.docker')), readdirSync(join(h.home, 'planted'))]).toEqual([['config.json'], []]);

    // a link inside the project: followed, kept
    mkdirSync(join(repo, 'config'));
    writeFileSync(join(repo, 'config', 'claude.json'), '{ "model": "opus" }\n');
    const inside = join(repo, '.claude', 'inside.json');
    symlinkSync('../config/claude.json', inside);
    const ok = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--settings', inside], { env: h.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(repo, 'config', 'claude.json'), 'utf8')).toContain('session start');
  });
});

describe('settings safety: opencode\'s plugin behind a link (F10b)', () => {
  it('uninstall removes the plugin rtrack wrote into the dotfiles the link points to, then the link; a file there that is not rtrack\'s stays, and so does the link', async () => {
    const h = newHome();
    const dotfiles = join(h.home, 'dotfiles', 'opencode');
    mkdirSync(dotfiles, { recursive: true });
    const plugins = join(h.home, 'config', 'opencode', 'plugins');
    mkdirSync(plugins, { recursive: true });
    const link = join(plugins, 'rtrack.js');
    const target = join(dotfiles, 'rtrack.js');
    symlinkSync(target, link);
    const install = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'opencode'], { env: h.env });
    expect(install.code, install.stderr).toBe(0);
    expect(readFileSync(target, 'utf8')).toMatch(/^\/\/ rtrack: the opencode plugin/);
    const dry = await runCli(['hooks', 'uninstall', 'opencode', '--dry-run'], { env: h.env });
    expect(dry.stdout).toBe(`rtrack: dry run — ${target} and the link ${link} to it would be removed\n`);
    const r = await runCli(['hooks', 'uninstall', 'opencode'], { env: h.env });
    expect([r.code, r.stdout]).toEqual([0, `rtrack: removed rtrack's opencode plugin ${target} and the link ${link} to it; opencode runs without it from its next start\n`]);
    expect([readdirSync(dotfiles), readdirSync(plugins)]).toEqual([[], []]);

    writeFileSync(target, 'export const Mine = async () => ({});\n');
    symlinkSync(target, link);
    const kept = await runCli(['hooks', 'uninstall', 'opencode'], { env: h.env });
    expect([kept.code, kept.stdout]).toEqual([0, `rtrack: ${target} is not rtrack's plugin (a file of that name that rtrack did not write, or an edited copy); it was left unchanged\n`]);
    expect([readFileSync(link, 'utf8'), readdirSync(plugins)]).toEqual(['export const Mine = async () => ({});\n', ['rtrack.js']]);
  });
});

describe('settings safety: the per-user config\'s line ends (F10c)', () => {
  it('install --reap on a config.yaml with CRLF line ends: reaping on, every line end still CRLF, comments kept', async () => {
    const h = newHome();
    const config = join(h.home, 'config', 'rtrack', 'config.yaml');
    mkdirSync(join(h.home, 'config', 'rtrack'), { recursive: true });
    const original = '# my settings, edited on Windows\r\ndiagnostics:\r\n  resource_tracking:\r\n    keep: [ sccache ] # mine\r\n    sessions:\r\n      reap: false\r\n';
    writeFileSync(config, original);
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(original.replace('reap: false', 'reap: true'));
  });
});
