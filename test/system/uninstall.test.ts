// `rtrack uninstall`: everything rtrack wrote for the user removed after saying what it is — every
// agent's hooks, the per-user config, the state directory, the backups — and nothing else: the
// agents' settings get their own content back, byte for byte; a project's settings are named and left.
// HOME and XDG_* are temporary directories: nothing of the real user's is read or written.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { readRecords } from '../../src/tracking/session-records.js';
import { ALLOW_SHARED, installedHooks, newHome, startSession, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

/** Every file and directory under `dir`, with each file's content: what a run changed. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) {
        out[`${path.slice(dir.length)}/`] = '';
        walk(path);
      } else out[path.slice(dir.length)] = readFileSync(path, 'latin1');
    }
  };
  walk(dir);
  return out;
}

/** A home where a user installed everything: hooks for Claude Code (with --reap) and Gemini CLI, opencode's plugin; a session followed. */
async function installedHome(): Promise<{ h: Home; settings: string; original: string; project: string; agent: number }> {
  const h = newHome(homes);
  const settings = join(h.home, '.claude', 'settings.json');
  mkdirSync(join(h.home, '.claude'));
  const original = '{\n  "model": "opus",\n  "env": { "A": "1" }\n}\n';
  writeFileSync(settings, original);
  for (const args of [['claude', '--reap'], ['gemini'], ['opencode']]) {
    const r = await runCli(['hooks', 'install', ...ALLOW_SHARED, ...args], { env: h.env, cwd: h.home });
    expect(r.code, r.stderr).toBe(0);
  }
  // A project with rtrack's hooks in its settings (a repository's file: left, and named)
  const project = join(h.home, 'proj');
  mkdirSync(join(project, '.claude'), { recursive: true });
  writeFileSync(join(project, '.claude', 'settings.json'), readFileSync(settings, 'utf8'));
  const hooks = installedHooks(settings);
  const session = await startSession(jar, h, `purge-${Date.now()}`, { env: { STAND_IN_HOOK_START: hooks.start, STAND_IN_HOOK_END: hooks.end } });
  expect(await waitFor(() => readRecords(h.state).length === 1)).toBe(true);
  expect(await waitFor(async () => (await runningFollower(h.state)) !== undefined)).toBe(true);
  await jar.adopt((await runningFollower(h.state))!.pid);
  return { h, settings, original, project, agent: session.pids.agent! };
}

describe('rtrack uninstall', () => {
  it('says what it removes; --dry-run and a missing --yes (stdin not a terminal) change nothing; --yes removes every file rtrack wrote, the follower exits, and the agents\' settings are as they were', async () => {
    const { h, settings, original, project, agent } = await installedHome();
    const before = tree(h.home);
    const backups = Object.keys(before).filter((f) => f.includes('.rtrack-backup-'));
    expect(backups).toHaveLength(1); // of ~/.claude/settings.json, made by install

    const dry = await runCli(['uninstall', '--dry-run'], { env: h.env, cwd: project });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.split('\n')).toEqual([
      'rtrack uninstall would remove:',
      `  the claude-code hooks in ${settings}`,
      `  the gemini-cli hooks in ${join(h.home, '.gemini', 'settings.json')}`,
      `  rtrack's opencode plugin ${join(h.home, 'config', 'opencode', 'plugins', 'rtrack.js')}`,
      `  the per-user config ${join(h.home, 'config', 'rtrack', 'config.yaml')}`,
      `  the state directory ${h.state} (session records, the journal, logs)`,
      `  ${h.home}${backups[0]} (a backup rtrack made)`,
      `rtrack: this project's ${join(project, '.claude', 'settings.json')} holds rtrack's hooks and is left as it is (a repository's file): \`rtrack hooks uninstall claude-code --settings ${join(project, '.claude', 'settings.json')}\` removes them`,
      '',
    ]);
    const unasked = await runCli(['uninstall'], { env: h.env, cwd: project });
    expect([unasked.code, unasked.stderr]).toEqual([1, 'rtrack: nothing was removed: give --yes to remove them (stdin is not a terminal to ask on)\n']);
    const outsideState = (t: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(t).filter(([f]) => !f.startsWith('/state/')));
    expect(outsideState(tree(h.home))).toEqual(outsideState(before)); // the follower goes on writing its own
    expect(readRecords(h.state)).toHaveLength(1);

    const r = await runCli(['uninstall', '--yes'], { env: h.env, cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rtrack: done; `npm uninstall -g rtrack` removes rtrack itself\n');
    expect(readFileSync(settings, 'utf8')).toBe(original);
    expect(JSON.parse(readFileSync(join(h.home, '.gemini', 'settings.json'), 'utf8'))).toEqual({});
    expect(Object.keys(tree(h.home)).filter((f) => /rtrack/.test(f) && !f.startsWith('/proj/'))).toEqual([]);
    expect(existsSync(h.state)).toBe(false);
    expect(existsSync(join(h.home, 'config', 'rtrack'))).toBe(false);
    expect(await runningFollower(h.state)).toBeUndefined();
    expect(await isAlive(agent)).toBe(true); // nothing of the user's is signalled
    expect(readFileSync(join(project, '.claude', 'settings.json'), 'utf8')).toContain('session start'); // a project's file is left

    const again = await runCli(['uninstall'], { env: h.env, cwd: h.home });
    expect([again.code, again.stdout]).toEqual([0, 'rtrack: nothing to remove: rtrack wrote nothing for this user (no hooks, no config, no state, no backups)\n']);
  });

  it('on a terminal it asks: anything but yes removes nothing', async () => {
    const h = newHome(homes);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'claude', '--reap'], { env: h.env })).code).toBe(0);
    const before = tree(h.home);
    const inPty = async (answer: string): Promise<string> => {
      const child = spawn('script', ['-qfec', `'${process.execPath}' '${RTRACK}' uninstall; echo "exit $?"`, '/dev/null'], { env: { ...h.env, SHELL: '/bin/bash' }, stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      expect(await waitFor(() => output.includes('Remove them? [y/N]'))).toBe(true);
      child.stdin!.write(`${answer}\n`);
      expect(await waitFor(() => /exit \d+/.test(output))).toBe(true);
      child.stdin!.end();
      return output;
    };
    expect(await inPty('n')).toMatch(/rtrack: nothing was removed\r\nexit 1/);
    expect(tree(h.home)).toEqual(before);
    expect(await inPty('y')).toMatch(/rtrack: done; .*\r\nexit 0/);
    expect(existsSync(join(h.home, 'config', 'rtrack'))).toBe(false);
    expect(installedHooksGone(join(h.home, '.claude', 'settings.json'))).toBe(true);
  });
});

const installedHooksGone = (settings: string): boolean => !readFileSync(settings, 'utf8').includes('rtrack');
