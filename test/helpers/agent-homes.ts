// A user's home for agent-session tests (HOME, XDG_STATE_HOME and XDG_CONFIG_HOME in a temporary
// directory: nothing of the real user's is read or written), the hook commands rtrack installs,
// and stand-in agents started the way the real ones run (test/fixtures/tasks/stand-in-agent.mjs).
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
