// A user's home for agent-session tests (HOME, XDG_STATE_HOME and XDG_CONFIG_HOME in a temporary
// directory: nothing of the real user's is read or written), the hook commands rtrack installs,
// and stand-in agents started the way the real ones run (test/fixtures/tasks/stand-in-agent.mjs).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPathProblem } from '../../src/hooks/path-checks.js';
import { runningFollower } from '../../src/operations/agent-sessions.js';
import { RTRACK } from './cli.js';
import type { ProcessIdentity } from '../../src/types.js';
import { readIdentity, waitFor, type ProcessJar } from './processes.js';
import { tempDir } from './temp.js';

export const STAND_IN = fileURLToPath(new URL('../fixtures/tasks/stand-in-agent.mjs', import.meta.url));
export const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Home {
  env: NodeJS.ProcessEnv;
  /** $XDG_STATE_HOME/rtrack */
  state: string;
  home: string;
}

/** A fresh home; `homes` collects it so that afterEach can stop its follower. */
export function newHome(homes: Home[]): Home {
  const home = tempDir('home');
  const state = join(home, 'state', 'rtrack');
  const h = { home, state, env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') } };
  homes.push(h);
  return h;
}

/** A follower config file in the home: `sessions: { reap, linger_ms }`. */
export function followerConfig(h: Home, reap: boolean, lingerMs: number): string {
  const config = join(h.home, 'rtrack.yaml');
  writeFileSync(config, `diagnostics:\n  resource_tracking:\n    sessions:\n      reap: ${reap}\n      linger_ms: ${lingerMs}\n`);
  return config;
}

/** The hook command `rtrack hooks install` puts in the settings (here without the installed guard). */
export function hookCommand(event: 'start' | 'end', config?: string, agent = 'claude-code'): string {
  return `${quote(process.execPath)} ${quote(RTRACK)} session ${event} --agent ${agent}${config ? ` --config ${quote(config)}` : ''}`;
}

/**
 * `--allow-shared-path` when a file the installed hooks would run — this checkout's bin/rtrack.js,
 * this Node, or one of `paths` (a --config in a temporary directory) — is where others could put
 * their own (a checkout cloned under /tmp): `rtrack hooks install` refuses it otherwise. Nothing
 * when none is: then the tests see exactly what a user's install does.
 */
export function allowShared(...paths: string[]): string[] {
  return [RTRACK, process.execPath, ...paths].some((path) => sharedPathProblem(path) !== undefined) ? ['--allow-shared-path'] : [];
}

/** allowShared() for hooks that name no --config: the flag when this checkout's path is shared. */
export const ALLOW_SHARED = allowShared();

/**
 * `hooks status` output without its `; unsafe: …` notes (the rest of the line as it is) when the
 * hooks run a shared file (allowShared(...paths)); as it is otherwise, where an unsafe note would be a fault.
 */
export function withoutUnsafe(status: string, ...paths: string[]): string {
  return allowShared(...paths).length > 0 ? status.replace(/; unsafe: [^\n]*/g, '') : status;
}

/** Stops the followers of these homes (identity-checked by the jar). */
export async function stopFollowers(homes: Home[], jar: ProcessJar): Promise<void> {
  for (const h of homes.splice(0)) {
    const follower = await runningFollower(h.state);
    if (follower) await jar.adopt(follower.pid);
  }
}

export interface StandIn {
  child: ChildProcess;
  /** The pids it started, by name (`mcp`, `tool`, `devServer`, `tmux`, …). */
  pids: Record<string, number>;
}

/**
 * Starts a stand-in Claude Code session (`session` mode) named `claude` on its command line, with
 * its hooks when `hooks` is set; resolves once it has started everything.
 */
export async function startSession(
  jar: ProcessJar,
  h: Home,
  session: string,
  options: { hooks?: boolean; config?: string; source?: string; tmux?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<StandIn> {
  const env: NodeJS.ProcessEnv = { ...h.env, ...options.env };
  if (options.hooks) {
    env.STAND_IN_HOOK_START = hookCommand('start', options.config);
    env.STAND_IN_HOOK_END = hookCommand('end', options.config);
  }
  if (options.source) env.STAND_IN_SOURCE = options.source;
  if (options.tmux) env.STAND_IN_TMUX = options.tmux;
  const child = jar.spawn('bash', ['-c', 'exec -a claude "$0" "$@"', process.execPath, STAND_IN, 'session', session], { env, stdio: ['ignore', 'pipe', 'inherit'], cwd: h.home });
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  const pids = JSON.parse(line) as Record<string, number>;
  for (const pid of Object.values(pids)) await jar.adoptTree(pid);
  return { child, pids };
}

/** The hook commands `rtrack hooks install <agent>` wrote into a settings file, by event. */
export function installedHooks(settings: string): { start: string; end: string } {
  const parsed = JSON.parse(readFileSync(settings, 'utf8')) as { hooks: Record<string, { hooks: { command: string }[] }[]> };
  const command = (event: string): string => parsed.hooks[event]![0]!.hooks[0]!.command;
  return { start: command('SessionStart'), end: command('SessionEnd') };
}

/** Reads the stand-in's JSON line of pids from its stdout and adopts every process it started. */
async function standInPids(jar: ProcessJar, child: ChildProcess): Promise<Record<string, number>> {
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  const pids = JSON.parse(line) as Record<string, number>;
  for (const pid of Object.values(pids)) await jar.adoptTree(pid);
  return pids;
}

/**
 * Starts a stand-in Gemini CLI 0.61.0 (`gemini` mode): the launcher `node <dir>/bin/gemini …`, which
 * relaunches the agent; with `hooks`, the agent runs them (`sh -c`, JSON on stdin). `toolWait`: how
 * long its backgrounding tool command works before it backgrounds the server and exits (seconds).
 */
export async function startGemini(jar: ProcessJar, h: Home, session: string, options: { hooks?: { start: string; end: string }; toolWait?: number } = {}): Promise<StandIn> {
  const bin = join(tempDir('gemini'), 'bin');
  mkdirSync(bin);
  symlinkSync(STAND_IN, join(bin, 'gemini'));
  const env: NodeJS.ProcessEnv = { ...h.env, STAND_IN_TOOL_WAIT: String(options.toolWait ?? 0) };
  delete env.GEMINI_CLI_NO_RELAUNCH;
  if (options.hooks) Object.assign(env, { STAND_IN_HOOK_START: options.hooks.start, STAND_IN_HOOK_END: options.hooks.end });
  const child = jar.spawn(process.execPath, [join(bin, 'gemini'), 'gemini', session], { env, stdio: ['ignore', 'pipe', 'inherit'], cwd: h.home });
  return { child, pids: await standInPids(jar, child) };
}

/**
 * Starts a stand-in opencode 1.18.33 (`opencode` mode), one process named `opencode`; with `plugin`
 * (rtrack's plugin file) it loads and calls that plugin as opencode does. `end()` is a normal end.
 */
export async function startOpencode(jar: ProcessJar, h: Home, session: string, options: { plugin?: string } = {}): Promise<StandIn & { end(): void }> {
  const env: NodeJS.ProcessEnv = { ...h.env };
  if (options.plugin) env.STAND_IN_OPENCODE_PLUGIN = `data:text/javascript;base64,${readFileSync(options.plugin).toString('base64')}`; // an ES module whatever its directory's package.json says
  const child = jar.spawn('bash', ['-c', 'exec -a opencode "$0" "$@"', process.execPath, STAND_IN, 'opencode', session], { env, stdio: ['pipe', 'pipe', 'inherit'], cwd: h.home });
  const pids = await standInPids(jar, child);
  return { child, pids, end: () => child.stdin!.write('exit\n') };
}

/**
 * A process that runs the bash `script` and shows `name` first on its command line — by default
 * `claude`, which Claude Code's pattern knows (`exec -a claude sleep 300`); once it does.
 */
export async function namedProcess(jar: ProcessJar, script = 'exec -a claude sleep 300', name = 'claude'): Promise<ProcessIdentity> {
  const child = jar.spawn('bash', ['-c', script]);
  const named = (): boolean => {
    try {
      return readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').startsWith(`${name}\0`);
    } catch {
      return false;
    }
  };
  if (!(await waitFor(named))) throw new Error(`${script} did not show ${name}`);
  return (await readIdentity(child.pid!))!;
}
