// `rtrack hooks install|uninstall|status`: rtrack's SessionStart/SessionEnd hooks in an agent's
// settings file, merged in and taken out without touching anything else. The file's text is edited
// with jsonc-parser, never re-serialized: comments, key order, numbers and every other byte stay,
// except the indentation of the lines an edit touches (a one-line file becomes indented). It is
// written the safe way (src/settings-file.ts).
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { packageFile, stateDirectory } from '../files.js';
import { runningFollower } from '../operations/agent-sessions.js';
import { HOOK_AGENTS, HOOK_EVENTS, hookCommand, installEdits, rtrackHooks, uninstallEdits, withoutRtrackHooks, type HookAgent, type HookCommand, type HookEvent, type SettingsEdit } from '../rules/agent-hooks.js';
import { replaceFileText, type ReplaceResult } from '../settings-file.js';
import { UsageError } from './common.js';

const RTRACK_BIN = packageFile('bin/rtrack.js');

/** jsonc-parser, loaded when a hooks command runs (this module is bundled into the CLI; the parser stays in node_modules). */
type Jsonc = typeof import('jsonc-parser');
let jsonc: Jsonc | undefined;
const loadJsonc = (): Jsonc => (jsonc ??= createRequire(import.meta.url)('jsonc-parser') as Jsonc);

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

/** The settings in a file's text; `{}` for no file. Text that is not JSON is a usage error: such a file is never written. */
function parseSettings(path: string, text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return {};
  const { parse, printParseErrorCode } = loadJsonc();
  const errors: import('jsonc-parser').ParseError[] = [];
  const settings: unknown = parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const before = text.slice(0, offset).split('\n');
    throw new UsageError(`hooks: ${path} is not valid JSON (${printParseErrorCode(error)} at line ${before.length} column ${before.at(-1)!.length + 1}); it was left unchanged`);
  }
  return settings;
}

/** How the file is indented (the first indented line's indent; two spaces when none is) and its line ends. */
function formattingOf(text: string): import('jsonc-parser').FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent ? indent.length : 2, eol };
}

/**
 * The text with the edits made, one after the other. The result is checked: it parses, and apart
 * from rtrack's hooks it holds exactly what the original held (else rtrack refuses, nothing written).
 */
function applySettingsEdits(path: string, text: string | undefined, edits: SettingsEdit[]): string {
  const { applyEdits, modify } = loadJsonc();
  const original = text === undefined || text.trim() === '' ? '{}\n' : text;
  const formattingOptions = formattingOf(original);
  let next = original;
  for (const edit of edits) {
    next = applyEdits(next, modify(next, edit.path, edit.value, { formattingOptions, ...(edit.insert ? { isArrayInsertion: true } : {}) }));
  }
  let same: boolean;
  try {
    same = isDeepStrictEqual(withoutRtrackHooks(parseSettings(path, next)), withoutRtrackHooks(parseSettings(path, original)));
  } catch {
    same = false;
  }
  if (!same) throw new Error(`hooks: ${path}: editing the file would have changed more than rtrack's hooks; it was left unchanged`);
  return next;
}

/** Changes the settings file safely (src/settings-file.ts); a failure is one line naming the file. */
function changeSettings(path: string, edit: (text: string | undefined) => string | undefined): ReplaceResult {
  try {
    return replaceFileText(path, edit);
  } catch (err) {
    if (err instanceof UsageError || (err as Error).message.startsWith('hooks: ')) throw err;
    throw new Error(`hooks: ${(err as Error).message}`);
  }
}

/** A rule's complaint about the settings (not an object, `hooks` not an object…) as a usage error naming the file. */
function planned(path: string, plan: () => SettingsEdit[]): SettingsEdit[] {
  try {
    return plan();
  } catch (err) {
    throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
  }
}

const readIfThere = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/** Why a hook of rtrack's no longer runs (its rtrack or its Node is gone), or undefined when it runs. */
function staleBecause(command: HookCommand): string | undefined {
  try {
    if (!statSync(command.bin).isFile()) return `${command.bin} is gone`;
  } catch {
    return `${command.bin} is gone`;
  }
  try {
    accessSync(command.node, constants.X_OK);
  } catch {
    return `${command.node} is gone`;
  }
  return undefined;
}

export async function hooksInstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const config = options.config === undefined ? {} : { config: resolve(options.config) };
  const commands = Object.fromEntries(
    (Object.keys(HOOK_EVENTS) as HookEvent[]).map((event) => [event, hookCommand({ node: process.execPath, bin: RTRACK_BIN, subcommand: HOOK_EVENTS[event], agent, ...config })]),
  ) as Record<HookEvent, string>;
  let had = 0;
  const edit = (text: string | undefined): string | undefined => {
    const settings = parseSettings(path, text);
    had = rtrackHooks(settings).length;
    const edits = planned(path, () => installEdits(settings, commands, 10));
    return edits.length === 0 ? undefined : applySettingsEdits(path, text, edits);
  };
  if (options.dryRun) {
    const next = edit(readIfThere(path));
    process.stdout.write(next === undefined ? `rtrack: the hooks are already installed in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    return 0;
  }
  const result = changeSettings(path, edit);
  if (!result.changed) {
    process.stdout.write(`rtrack: the hooks are already installed in ${path}\n`);
    return 0;
  }
  process.stdout.write(`rtrack: ${had > 0 ? 'updated' : 'installed'} the SessionStart and SessionEnd hooks in ${path}${result.backup ? ` (the previous file is ${result.backup})` : ''}\n`);
  return 0;
}

export async function hooksUninstall(agent: string, options: HooksOptions): Promise<number> {
  checkAgent(agent);
  const path = resolve(options.settings ?? defaultSettings());
  const edit = (text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    const edits = planned(path, () => uninstallEdits(parseSettings(path, text)));
    return edits.length === 0 ? undefined : applySettingsEdits(path, text, edits);
  };
  if (options.dryRun) {
    const next = edit(readIfThere(path));
    process.stdout.write(next === undefined ? `rtrack: no rtrack hooks in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    return 0;
  }
  const result = changeSettings(path, edit);
  if (!result.changed) {
    process.stdout.write(`rtrack: no rtrack hooks in ${path}\n`);
    return 0;
  }
  process.stdout.write(`rtrack: removed rtrack's hooks from ${path} (the previous file is ${result.backup})\n`);
  return 0;
}

/** One settings file's line of `hooks status`. */
function statusOf(path: string): string {
  const text = readIfThere(path);
  if (text === undefined) return 'no such file';
  let found;
  try {
    found = rtrackHooks(parseSettings(path, text));
  } catch {
    return 'not valid JSON';
  }
  if (found.length === 0) return 'no rtrack hooks';
  const events = (Object.keys(HOOK_EVENTS) as HookEvent[]).filter((e) => found.some((h) => h.event === e));
  const agents = [...new Set(found.map((h) => h.command.agent))].join(', ');
  const stale = [...new Set(found.map((h) => staleBecause(h.command)).filter((why) => why !== undefined))];
  if (stale.length > 0) return `${agents} hooks stale (${events.join(', ')}): they no longer run, ${stale.join(', ')}; \`rtrack hooks install ${found[0]!.command.agent}\` repairs them`;
  const notes: string[] = [];
  if (found.some((h) => !h.command.guarded)) notes.push(`an earlier form that fails loudly once rtrack is removed: \`rtrack hooks install ${found[0]!.command.agent}\` updates it`);
  const others = [...new Set(found.map((h) => h.command.bin).filter((bin) => bin !== RTRACK_BIN))];
  if (others.length > 0) notes.push(`they run ${others.join(', ')}`);
  return `${agents} hooks installed (${events.join(', ')})${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
}

export async function hooksStatus(options: HooksOptions): Promise<number> {
  const files = [...new Set([resolve(options.settings ?? defaultSettings()), resolve('.claude', 'settings.json')])];
  for (const path of files) process.stdout.write(`${path}: ${statusOf(path)}\n`);
  const state = stateDirectory();
  const follower = await runningFollower(state);
  process.stdout.write(`follower: ${follower ? `running (pid ${follower.pid})` : 'not running'}; state in ${state}\n`);
  return 0;
}
