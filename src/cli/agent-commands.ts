// `rtrack hooks install|uninstall|status`, `rtrack session start|end|follow` (what the hooks run)
// and `rtrack sessions` (the journal). A hook command never fails the agent: whatever goes wrong is
// one line in the state directory's hooks.log, and the exit status is 0.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateDirectory, writeFileAtomic } from '../files.js';
import { createLogger } from '../log.js';
import {
  followSessions,
  logHookProblem,
  readJournal,
  recordSessionEnd,
  registerSession,
  runningFollower,
  type JournalEntry,
} from '../operations/agent-sessions.js';
import { platformReader } from '../platform/index.js';
import { HOOK_AGENTS, HOOK_EVENTS, installedEvents, parseHookInput, withHooks, withoutHooks, type HookAgent, type HookInput } from '../rules/agent-hooks.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import { formatTaskTag, newTagRandom, TASK_ENV_VAR, UNKNOWN_PID_NAMESPACE } from '../tracking/task-tag.js';
import { resolveConfig, UsageError } from './common.js';
import { escapeUnprintable } from '../text.js';
import { formatAge, formatMB } from './present.js';

const RTRACK_BIN = fileURLToPath(new URL('../../bin/rtrack.js', import.meta.url));
const FOLLOWER_MAIN = fileURLToPath(new URL('./follower-main.js', import.meta.url));
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface HooksOptions {
  settings?: string;
  dryRun?: boolean;
  config?: string;
}

function checkAgent(agent: string): HookAgent {
  if (!(HOOK_AGENTS as readonly string[]).includes(agent)) {
    throw new UsageError(`hooks: unknown agent ${JSON.stringify(agent)} (supported: ${HOOK_AGENTS.join(', ')})`);
  }
  return agent as HookAgent;
}

/** The user-level settings file of the agent (Claude Code: ~/.claude/settings.json). */
function defaultSettings(): string {
  return join(process.env.HOME || homedir(), '.claude', 'settings.json');
}

/** The settings file's JSON; `{}` when it does not exist yet. A file that is not JSON is a usage error: it is never overwritten. */
function readSettings(path: string): { settings: unknown; text: string | undefined } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { settings: {}, text: undefined };
    throw new UsageError(`hooks: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return { settings: text.trim() === '' ? {} : JSON.parse(text), text };
  } catch (err) {
    throw new UsageError(`hooks: ${path} is not valid JSON (${(err as Error).message}); it was left unchanged`);
  }
}

async function writeSettings(path: string, before: string | undefined, settings: unknown): Promise<string | undefined> {
  mkdirSync(dirname(path), { recursive: true });
  let backup: string | undefined;
  if (before !== undefined) {
    backup = `${path}.rtrack-backup`;
    copyFileSync(path, backup);
  }
  await writeFileAtomic(path, `${JSON.stringify(settings, null, 2)}\n`);
  return backup;
}

export async function hooksInstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const { settings, text } = readSettings(path);
  const configArg = options.config ? ` --config ${quote(resolve(options.config))}` : '';
  let merged;
  try {
    merged = withHooks(settings, (event) => `${quote(process.execPath)} ${quote(RTRACK_BIN)} session ${HOOK_EVENTS[event]} --agent ${agent}${configArg}`);
  } catch (err) {
    throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
  }
  if (!merged.changed) {
    process.stdout.write(`rtrack: the hooks are already installed in ${path}\n`);
    return 0;
  }
  if (options.dryRun) {
    process.stdout.write(`rtrack: dry run — ${path} would become:\n${JSON.stringify(merged.settings, null, 2)}\n`);
    return 0;
  }
  const backup = await writeSettings(path, text, merged.settings);
  process.stdout.write(`rtrack: installed the SessionStart and SessionEnd hooks in ${path}${backup ? ` (the previous file is ${backup})` : ''}\n`);
  return 0;
}

export async function hooksUninstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const { settings, text } = readSettings(path);
  let result;
  try {
    result = withoutHooks(settings);
  } catch (err) {
    throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
  }
  if (!result.changed || text === undefined) {
    process.stdout.write(`rtrack: no rtrack hooks in ${path}\n`);
    return 0;
  }
  if (options.dryRun) {
    process.stdout.write(`rtrack: dry run — ${path} would become:\n${JSON.stringify(result.settings, null, 2)}\n`);
    return 0;
  }
  const backup = await writeSettings(path, text, result.settings);
  process.stdout.write(`rtrack: removed rtrack's hooks from ${path} (the previous file is ${backup})\n`);
  return 0;
}

export async function hooksStatus(options: HooksOptions): Promise<number> {
  const files = [...new Set([resolve(options.settings ?? defaultSettings()), resolve('.claude', 'settings.json')])];
  for (const path of files) {
    if (!existsSync(path)) {
      process.stdout.write(`${path}: no such file\n`);
      continue;
    }
    let events: string[];
    try {
      events = installedEvents(JSON.parse(readFileSync(path, 'utf8')));
    } catch {
      process.stdout.write(`${path}: not valid JSON\n`);
      continue;
    }
    process.stdout.write(`${path}: ${events.length > 0 ? `claude-code hooks installed (${events.join(', ')})` : 'no rtrack hooks'}\n`);
  }
  const state = stateDirectory();
  const follower = await runningFollower(state);
  process.stdout.write(`follower: ${follower ? `running (pid ${follower.pid})` : 'not running'}; state in ${state}\n`);
  return 0;
}

/** The hook's JSON from stdin: what arrives within `ms` (the agent writes it at once and closes). */
function readStdin(ms: number): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolveText) => {
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      process.stdin.pause();
      resolveText(text);
    };
    const timer = setTimeout(done, ms);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => (text += d));
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'fish', 'ksh', 'mksh', 'busybox', 'env']);

/** The agent process of a hook: its nearest ancestor that is not a shell. */
async function findAgent(pid: number | undefined): Promise<{ pid: number; startTime: number } | undefined> {
  const reader = platformReader();
  if (pid !== undefined) {
    const status = await reader.readStatus(pid);
    return status ? { pid, startTime: status.startTime } : undefined;
  }
  const snapshot = await takeSnapshot({ reader });
  const byPidMap = new Map(snapshot.processes.map((p) => [p.pid, p]));
  let current = byPidMap.get(process.pid);
  for (let depth = 0; current && depth < 64; depth++) {
    const parent = byPidMap.get(current.ppid);
    if (!parent || parent.pid <= 1) return undefined;
    const name = (parent.commandLine ?? parent.command).split(' ')[0]!.split('/').pop()!.replace(/^-/, '');
    if (!SHELLS.has(name)) {
      const status = await reader.readStatus(parent.pid);
      return status ? { pid: parent.pid, startTime: status.startTime } : undefined;
    }
    current = parent;
  }
  return undefined;
}

export interface SessionOptions {
  agent: string;
  pid?: number;
  config?: string;
}

/**
 * Runs a hook's work so that it can never fail the agent: the hook JSON is read from stdin (what
 * arrives within a second), and anything that goes wrong — bad input included — is one line in
 * hooks.log. Always resolves with 0.
 */
async function asHook(name: string, work: (input: HookInput, state: string) => Promise<void>): Promise<number> {
  const state = stateDirectory();
  try {
    const input = parseHookInput(await readStdin(1000));
    if (typeof input === 'string') logHookProblem(state, `${name}: ${input}`);
    else await work(input, state);
  } catch (err) {
    logHookProblem(state, `${name}: ${(err as Error).message}`);
  }
  return 0;
}

/** `rtrack session start`: registers the agent with the follower (starting one if none runs). Always exits 0. */
export function sessionStart(options: SessionOptions): Promise<number> {
  return asHook('session start', async (input, state) => {
    const agent = await findAgent(options.pid);
    if (!agent) {
      logHookProblem(state, `session start: no agent process found above pid ${process.pid} (session ${input.session_id})`);
      return;
    }
    await registerSession(state, {
      agent: options.agent,
      sessionId: input.session_id,
      ...(input.cwd ? { cwd: input.cwd } : {}),
      ...(input.transcript_path ? { transcriptPath: input.transcript_path } : {}),
      ...(input.source ? { source: input.source } : {}),
      agentPid: agent.pid,
      agentStartTime: agent.startTime,
      startedAt: new Date().toISOString(),
    });
    // Later Bash-tool commands of the session carry rtrack's tag, owned by the agent process.
    const envFile = process.env.CLAUDE_ENV_FILE;
    if (envFile) {
      let ns: string | undefined;
      try {
        ns = platformReader().readPidNamespace?.(agent.pid)?.namespace;
      } catch {
        ns = undefined;
      }
      const tag = formatTaskTag({ ...agent, pidNamespace: ns ?? UNKNOWN_PID_NAMESPACE }, newTagRandom());
      appendFileSync(envFile, `export ${TASK_ENV_VAR}=${tag}\n`);
    }
    if (!(await runningFollower(state))) {
      const args = [FOLLOWER_MAIN, ...(options.config ? ['--config', resolve(options.config)] : [])];
      spawn(process.execPath, args, { detached: true, stdio: 'ignore', env: process.env, cwd: '/' }).unref();
    }
  });
}

/** `rtrack session end`: records the SessionEnd reason on the agent's record. Never waits; always exits 0. */
export function sessionEnd(options: SessionOptions): Promise<number> {
  return asHook('session end', async (input, state) => {
    const agent = await findAgent(options.pid);
    if (!agent || !(await recordSessionEnd(state, agent, input.reason ?? 'other'))) {
      logHookProblem(state, `session end: session ${input.session_id} was not registered (no SessionStart hook ran for it)`);
    }
  });
}

/** `rtrack session follow`: the follower (started by `session start`; exits when it follows nothing). */
export async function sessionFollow(options: { config?: string; intervalMs?: number }): Promise<number> {
  const state = stateDirectory();
  const config = await resolveConfig(options.config);
  const logger = createLogger({ stream: { write: (line: string) => (appendFileSync(join(state, 'follower.log'), line), true) } });
  await followSessions({
    state,
    intervalMs: options.intervalMs,
    lingerMs: config.sessions.lingerMs,
    reap: config.sessions.reap,
    keep: config.keep,
    keepSharedDaemons: config.keepSharedDaemons,
    agents: config.agents,
    logger,
  });
  return 0;
}

/** `rtrack sessions`: the journal's recent entries, for people or as JSON. */
export async function sessionsCommand(options: { json?: boolean; limit: number }): Promise<number> {
  const { entries, corrupt } = readJournal(stateDirectory());
  if (corrupt > 0) process.stderr.write(`rtrack: warning: ${corrupt} corrupt line${corrupt > 1 ? 's' : ''} in the journal skipped\n`);
  const recent = entries.slice(-options.limit);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(recent, null, 2)}\n`);
    return 0;
  }
  if (recent.length === 0) {
    process.stdout.write('rtrack: no ended session has left anything (the journal is empty)\n');
    return 0;
  }
  for (const e of recent) process.stdout.write(renderEntry(e));
  return 0;
}

function renderEntry(e: JournalEntry): string {
  const memory = e.leaked.reduce((s, p) => s + p.memoryMB, 0);
  const age = Math.max(0, Math.round((Date.now() - Date.parse(e.endedAt)) / 1000));
  const lines = [
    `${escapeUnprintable(e.agent)} session ${escapeUnprintable(e.sessionId)}${e.cwd ? ` in ${escapeUnprintable(e.cwd)}` : ''}: ended ${formatAge(age)} ago (${escapeUnprintable(e.reason)}), left ${e.leaked.length} ${e.leaked.length === 1 ? 'process' : 'processes'}, ${formatMB(memory)}`,
  ];
  for (const p of e.leaked) {
    const reaped = e.reaped?.find((r) => r.pid === p.pid);
    lines.push(`  ${String(p.pid).padStart(7)} ${formatMB(p.memoryMB).padStart(10)} ${escapeUnprintable(p.command)}  (${p.evidence.join(', ')})${reaped ? ` → ${reaped.result}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
