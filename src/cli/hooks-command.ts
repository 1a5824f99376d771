// `rtrack hooks install|uninstall|status`: rtrack's SessionStart/SessionEnd hooks in an agent's
// settings file, merged in and taken out without touching anything else.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageFile, stateDirectory } from '../files.js';
import { runningFollower } from '../operations/agent-sessions.js';
import { HOOK_AGENTS, HOOK_EVENTS, installedEvents, withHooks, withoutHooks, type HookAgent } from '../rules/agent-hooks.js';
import { replaceFileText, type ReplaceResult } from '../settings-file.js';
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

/** The settings' JSON; `{}` when there is no file yet. A file that is not JSON is a usage error: it is never overwritten. */
function parseSettings(path: string, text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`hooks: ${path} is not valid JSON (${(err as Error).message}); it was left unchanged`);
  }
}

/** Changes the settings file safely (src/settings-file.ts); a failure is one line naming the file. */
function changeSettings(path: string, edit: (text: string | undefined) => string | undefined): ReplaceResult {
  try {
    return replaceFileText(path, edit);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new Error(`hooks: ${(err as Error).message}`);
  }
}

export async function hooksInstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const configArg = options.config ? ` --config ${quote(resolve(options.config))}` : '';
  const merge = (text: string | undefined): { settings: unknown; changed: boolean } => {
    try {
      return withHooks(parseSettings(path, text), (event) => `${quote(process.execPath)} ${quote(RTRACK_BIN)} session ${HOOK_EVENTS[event]} --agent ${agent}${configArg}`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
    }
  };
  const edit = (text: string | undefined): string | undefined => {
    const merged = merge(text);
    return merged.changed ? `${JSON.stringify(merged.settings, null, 2)}\n` : undefined;
  };
  if (options.dryRun) {
    const merged = merge(existsSync(path) ? readFileSync(path, 'utf8') : undefined);
    process.stdout.write(merged.changed ? `rtrack: dry run — ${path} would become:\n${JSON.stringify(merged.settings, null, 2)}\n` : `rtrack: the hooks are already installed in ${path}\n`);
    return 0;
  }
  const result = changeSettings(path, edit);
  if (!result.changed) {
    process.stdout.write(`rtrack: the hooks are already installed in ${path}\n`);
    return 0;
  }
  process.stdout.write(`rtrack: installed the SessionStart and SessionEnd hooks in ${path}${result.backup ? ` (the previous file is ${result.backup})` : ''}\n`);
  return 0;
}

export async function hooksUninstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const remove = (text: string | undefined): { settings: unknown; changed: boolean } => {
    if (text === undefined) return { settings: {}, changed: false };
    try {
      return withoutHooks(parseSettings(path, text));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
    }
  };
  if (options.dryRun) {
    const result = remove(existsSync(path) ? readFileSync(path, 'utf8') : undefined);
    process.stdout.write(result.changed ? `rtrack: dry run — ${path} would become:\n${JSON.stringify(result.settings, null, 2)}\n` : `rtrack: no rtrack hooks in ${path}\n`);
    return 0;
  }
  const result = changeSettings(path, (text) => {
    const removed = remove(text);
    return removed.changed ? `${JSON.stringify(removed.settings, null, 2)}\n` : undefined;
  });
  if (!result.changed) {
    process.stdout.write(`rtrack: no rtrack hooks in ${path}\n`);
    return 0;
  }
  process.stdout.write(`rtrack: removed rtrack's hooks from ${path} (the previous file is ${result.backup})\n`);
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

