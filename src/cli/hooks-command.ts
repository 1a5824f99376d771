// `rtrack hooks install|uninstall|status`: rtrack's SessionStart/SessionEnd hooks in an agent's
// settings file, merged in and taken out without touching anything else.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { packageFile, stateDirectory, writeFileAtomic } from '../files.js';
import { runningFollower } from '../operations/agent-sessions.js';
import { HOOK_AGENTS, HOOK_EVENTS, installedEvents, withHooks, withoutHooks, type HookAgent } from '../rules/agent-hooks.js';
import { UsageError } from './common.js';

const RTRACK_BIN = packageFile('bin/rtrack.js');
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

