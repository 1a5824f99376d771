// The hooks rtrack adds to an agent's settings, and how they are merged in and taken out. Pure:
// the parsed settings in, the edits to make to the file's text out (every other key and hook is
// left exactly as it was, byte for byte).
//
// Claude Code (verified with 2.1.332; ~/.claude/settings.json, <project>/.claude/settings.json or
// settings.local.json) and Gemini CLI (verified with 0.61.0; ~/.gemini/settings.json,
// <project>/.gemini/settings.json, which may hold comments) take hooks of one shape:
//   { "hooks": { "SessionStart": [ { "hooks": [ { "type": "command", "command": "…", "timeout": 10 } ] } ],
//                "SessionEnd":   [ … ] } }
// (Claude Code's timeout is in seconds, Gemini CLI's in milliseconds). The command runs through
// /bin/sh -c, a child of the agent process, with one JSON object on stdin.
// Codex needs no hooks: its sessions are found by their markers (src/rules/agents.ts); it has a
// SessionStart hook but no SessionEnd. opencode has no hooks of this shape: rtrack installs a plugin
// for it instead (src/rules/opencode-plugin.ts).

import { shellQuote } from '../text.js';
import { DAEMON_ENV_VAR } from '../types.js';
import type { AgentName } from './agents.js';

/** Agents whose hooks rtrack can install. */
export const HOOK_AGENTS = ['claude-code', 'gemini-cli'] as const;
export type HookAgent = (typeof HOOK_AGENTS)[number];

/** Where an agent keeps its settings, and what its hooks take. */
export interface HookAgentSettings {
  /** The settings directory, in the home directory and in a project: `.claude`. */
  directory: string;
  /** The user's settings file in it. */
  userFile: string;
  /** A project's settings files in it. */
  projectFiles: string[];
  /** Whether the agent reads comments in its settings (Gemini CLI does; Claude Code's are plain JSON). */
  comments: boolean;
  /** rtrack's hooks' timeout, in the agent's unit: ten seconds. */
  timeout: number;
  /** The setting that turns every hook off (path, and the value that does). */
  off: { path: string[]; value: boolean };
}

export const HOOK_AGENT_SETTINGS: Readonly<Record<HookAgent, HookAgentSettings>> = {
  'claude-code': { directory: '.claude', userFile: 'settings.json', projectFiles: ['settings.json', 'settings.local.json'], comments: false, timeout: 10, off: { path: ['disableAllHooks'], value: true } },
  'gemini-cli': { directory: '.gemini', userFile: 'settings.json', projectFiles: ['settings.json'], comments: true, timeout: 10_000, off: { path: ['hooksConfig', 'enabled'], value: false } },
};

/** Agents that take rtrack's plugin instead of hooks (opencode: src/rules/opencode-plugin.ts). */
export const PLUGIN_AGENTS = ['opencode'] as const;
export type PluginAgent = (typeof PLUGIN_AGENTS)[number];

/** Why `rtrack hooks install` installs nothing for an agent it knows but has no hooks for (one line). */
export const NO_HOOKS: Readonly<Record<Exclude<AgentName, HookAgent | PluginAgent>, string>> = {
  codex: 'Codex needs no hooks: rtrack finds its sessions by the markers its processes carry (CODEX_SESSION_ID, and the session file the codex process holds open); Codex has no SessionEnd hook',
};

/**
 * The words a session's end is recorded with (the journal's `reason`): the SessionEnd hook's own
 * `reason`, as each agent gives it, or rtrack's `agent exited` when no SessionEnd ran. What each
 * means, for people (`rtrack sessions`); a word not known here is shown as it is.
 */
export const END_REASONS: Readonly<Record<string, string>> = {
  'agent exited': 'no SessionEnd hook ran: the agent was killed, or crashed',
  other: "the agent ended without naming why: Claude Code's word for a `claude -p` run that finished, a closed terminal, a signal it handled",
  prompt_input_exit: 'the user left at the prompt (/exit, Ctrl+D)',
  exit: 'the agent exited normally (Gemini CLI)',
  clear: '/clear: the conversation was cleared (the process went on, under a new session id)',
  logout: 'the user logged out',
  bypass_permissions_disabled: "Claude Code's bypass-permissions mode was turned off",
  dispose: 'opencode shut the session down (the end of `opencode run`, /exit)',
};

/** `other: the agent ended without naming why…`, or the word alone when it is not known. */
export function endReasonText(reason: string): string {
  const meaning = Object.hasOwn(END_REASONS, reason) ? END_REASONS[reason] : undefined;
  return meaning === undefined ? reason : `${reason}: ${meaning}`;
}

/** The setting, when the settings turn every hook off (`hooksConfig.enabled: false`), else undefined. */
export function hooksTurnedOff(agent: HookAgent, settings: unknown): string | undefined {
  const { path, value } = HOOK_AGENT_SETTINGS[agent].off;
  let at: unknown = settings;
  for (const key of path) at = isObject(at) ? at[key] : undefined;
  return at === value ? `${path.join('.')}: ${String(value)}` : undefined;
}

/** The events rtrack hooks, and the `rtrack session …` subcommand each runs. */
export const HOOK_EVENTS = { SessionStart: 'start', SessionEnd: 'end' } as const;
export type HookEvent = keyof typeof HOOK_EVENTS;

/** What an rtrack hook command runs: `<node> <bin/rtrack.js> session <start|end> --agent <agent> [--config <file>]`. */
export interface HookCommand {
  /** The Node executable (absolute). */
  node: string;
  /** rtrack's bin/rtrack.js (absolute). */
  bin: string;
  subcommand: 'start' | 'end';
  agent: string;
  /** The YAML config the follower is told to read (absolute). */
  config?: string;
  /**
   * Which form: `detached`, the one rtrack installs now (the agent waits for a shell, not for
   * Node); `guarded`, the earlier one the agent waited for, silent when rtrack or Node is gone;
   * `bare`, the first one, without those checks. `rtrack hooks install` replaces the older two.
   */
  form: 'detached' | 'guarded' | 'bare';
}

/**
 * The command rtrack installs. The agent runs it with `/bin/sh -c`, the hook JSON on stdin, and
 * waits for it to exit before it goes on (Claude Code before its session starts, and before it
 * exits):
 *
 *   if [ -f '<bin/rtrack.js>' ] && [ -x '<node>' ]; then { RESOURCE_TRACKER_DAEMON=hook '<node>'
 *   '<bin/rtrack.js>' session start --agent claude-code --parent "$PPID" [--config '<file>'] <&3 3<&-
 *   >/dev/null 2>&1 & } 2>/dev/null 3<&0 || :; [else <said once>;] fi
 *
 * rtrack runs in the background, so the agent waits for the shell alone (a few milliseconds,
 * instead of Node's start, 50–100 ms): it reads the JSON from the agent's stdin (kept through
 * descriptor 3: a background command's stdin is otherwise /dev/null; set on a group, not with
 * `exec`, whose failure — no stdin at all — would end the shell with a message), finds the agent from the
 * shell's parent (`--parent "$PPID"`: the shell has exited by then), and is marked as rtrack's own
 * (RESOURCE_TRACKER_DAEMON=hook: never reported, never signalled). Its output goes nowhere: the
 * hooks say what goes wrong in the state directory's hooks.log. When rtrack or that Node is gone the
 * hook does nothing, but SessionStart's says so once (SAID_GONE) where it can remember having said it.
 */
export function hookCommand(command: Omit<HookCommand, 'form'>): string {
  const node = shellQuote(command.node);
  const bin = shellQuote(command.bin);
  const config = command.config === undefined ? '' : ` --config ${shellQuote(command.config)}`;
  const run = `{ ${DAEMON_ENV_VAR}=hook ${node} ${bin} session ${command.subcommand} --agent ${command.agent} --parent "$PPID"${config} <&3 3<&- >/dev/null 2>&1 & } 2>/dev/null 3<&0 || :;`;
  const gone = command.subcommand === 'start' ? ` else ${saidGone(command)};` : '';
  return `if [ -f ${bin} ] && [ -x ${node} ]; then ${run}${gone} fi`;
}

/** The marker (a directory) in rtrack's state directory that says a hook has said rtrack is gone. */
export const SAID_GONE = 'said-hooks-gone';

/**
 * SessionStart's words when rtrack or its Node is gone (hooks-status words, with what to do), said
 * once: the shell makes the marker SAID_GONE in rtrack's state directory, and speaks (on stderr,
 * exit 1: the agents show a hook's failure and go on) only when it made it. Without a state
 * directory it cannot remember having said it, and says nothing. `rtrack hooks install` removes the marker.
 */
function saidGone(command: Omit<HookCommand, 'form'>): string {
  const words = `rtrack: the ${command.agent} hooks in this agent's settings are stale: they no longer run, ${command.bin} or ${command.node} is gone; install rtrack again and run \`rtrack hooks install ${command.agent}\` (or \`rtrack hooks uninstall ${command.agent}\`), or delete them from the settings (said once)`;
  return `case "$XDG_STATE_HOME" in /*) d="$XDG_STATE_HOME/rtrack";; *) d="$HOME/.local/state/rtrack";; esac; mkdir "$d/${SAID_GONE}" 2>/dev/null && { echo ${shellQuote(words)} >&2; exit 1; }; true`;
}

/** A directory entry on the way to a file the hooks run, as lstat(2) tells it. */
export interface PathEntry {
  path: string;
  uid: number;
  mode: number;
  isSymbolicLink: boolean;
}

/**
 * Why someone other than the user (or root) could put their own file where the hooks look for
 * rtrack, Node or the config — the file itself, or any directory above it — in words; undefined when
 * no one can. An entry owned by another user, or writable by its group or others: a sticky
 * world-writable directory such as /tmp counts, since a name removed from it (a checkout tried out
 * there and deleted, /tmp wiped at boot) can be taken by anyone, and the hook then runs their file as
 * the user. A symbolic link's own mode means nothing; its owner does.
 */
export function sharedEntryProblem(entry: PathEntry, uid: number): string | undefined {
  if (entry.uid !== uid && entry.uid !== 0) return `${entry.path} is owned by uid ${entry.uid}`;
  if (entry.isSymbolicLink) return undefined;
  const writable = [...(entry.mode & 0o020 ? ['its group'] : []), ...(entry.mode & 0o002 ? ['others'] : [])];
  if (writable.length === 0) return undefined;
  const sticky = entry.mode & 0o1000 ? ', sticky: a name removed from it can be taken by anyone' : '';
  return `${entry.path} is writable by ${writable.join(' and ')} (mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')}${sticky})`;
}

/**
 * Why the hooks must not name this rtrack (one line), or undefined: one run by `npx rtrack` lives in
 * npx's cache (`…/_npx/<hash>/node_modules/rtrack`), which npm empties when it likes — the hooks
 * would then do nothing, silently. A global install (`npm install -g rtrack`) keeps its path across
 * updates.
 */
export function transientInstallProblem(bin: string): string | undefined {
  if (!/\/_npx\/[^/]+\/node_modules\//.test(bin)) return undefined;
  return `this rtrack runs from npx's cache (${bin}), which npm empties when it likes, and the hooks would then do nothing: install it first, \`npm install -g rtrack\`, then run \`rtrack hooks install\` again; nothing was written`;
}

const WORD = String.raw`'(?:[^']|'\\'')*'`;
const TAIL = String.raw`session (start|end) --agent ([a-z0-9][a-z0-9._-]*)(?: --config (${WORD}))?`;
const DETACHED = new RegExp(String.raw`^if \[ -f (${WORD}) \] && \[ -x (${WORD}) \]; then \{ ${DAEMON_ENV_VAR}=hook (${WORD}) (${WORD}) session (start|end) --agent ([a-z0-9][a-z0-9._-]*) --parent "\$PPID"(?: --config (${WORD}))? <&3 3<&- >/dev/null 2>&1 & \} 2>/dev/null 3<&0 \|\| :;`);
const GUARDED = new RegExp(String.raw`^\[ -f (${WORD}) \] && \[ -x (${WORD}) \] && (${WORD}) (${WORD}) ${TAIL} \|\| true$`);
const BARE = new RegExp(String.raw`^(${WORD}) (${WORD}) ${TAIL}$`);
const unquote = (word: string): string => word.slice(1, -1).replace(/'\\''/g, "'");

/**
 * rtrack's own hook command, recognised exactly: the form hookCommand() writes, to the byte (or an
 * earlier form: `[ -f '<bin>' ] && [ -x '<node>' ] && '<node>' '<bin>' session start --agent
 * <agent> [--config '<file>'] || true`, or that command alone), with absolute paths, bin/rtrack.js as
 * the script, the same paths in the checks as in the command. Anything else — a user's hook that
 * mentions `rtrack session start`, a wrapper script of theirs — is not rtrack's: never changed,
 * never removed.
 */
export function parseHookCommand(command: unknown): HookCommand | undefined {
  if (typeof command !== 'string') return undefined;
  let parsed: HookCommand;
  const detached = DETACHED.exec(command);
  const guarded = detached ? undefined : GUARDED.exec(command);
  if (detached || guarded) {
    const [, checkedBin, checkedNode, node, bin, subcommand, agent, config] = (detached ?? guarded)!;
    if (unquote(checkedBin!) !== unquote(bin!) || unquote(checkedNode!) !== unquote(node!)) return undefined;
    parsed = { node: unquote(node!), bin: unquote(bin!), subcommand: subcommand as 'start' | 'end', agent: agent!, ...(config ? { config: unquote(config) } : {}), form: detached ? 'detached' : 'guarded' };
    if (detached) {
      const { form: _form, ...written } = parsed;
      if (hookCommand(written) !== command) return undefined; // the whole of it, to the byte
    }
  } else {
    const bare = BARE.exec(command);
    if (!bare) return undefined;
    const [, node, bin, subcommand, agent, config] = bare;
    parsed = { node: unquote(node!), bin: unquote(bin!), subcommand: subcommand as 'start' | 'end', agent: agent!, ...(config ? { config: unquote(config) } : {}), form: 'bare' };
  }
  const absolute = [parsed.node, parsed.bin, ...(parsed.config === undefined ? [] : [parsed.config])].every((p) => p.startsWith('/'));
  return absolute && parsed.bin.endsWith('/bin/rtrack.js') ? parsed : undefined;
}

const isOurs = (command: unknown): boolean => parseHookCommand(command) !== undefined;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a settings file cannot be merged into (one line), or undefined when it can. */
export function settingsProblem(settings: unknown): string | undefined {
  if (!isObject(settings)) return 'the settings are not a JSON object';
  if (settings.hooks !== undefined && !isObject(settings.hooks)) return '"hooks" is not an object';
  if (isObject(settings.hooks)) {
    for (const event of Object.keys(HOOK_EVENTS)) {
      const list = settings.hooks[event];
      if (list !== undefined && !Array.isArray(list)) return `"hooks.${event}" is not a list`;
    }
  }
  return undefined;
}

/** One of rtrack's hooks in the settings: where it is, and what it runs. */
export interface FoundHook {
  event: HookEvent;
  /** Its group's index in the event's list, and its own in the group's `hooks`. */
  group: number;
  index: number;
  command: HookCommand;
}

/** rtrack's hooks in the settings, in the order they are in. */
export function rtrackHooks(settings: unknown): FoundHook[] {
  if (!isObject(settings) || !isObject(settings.hooks)) return [];
  const found: FoundHook[] = [];
  for (const event of Object.keys(HOOK_EVENTS) as HookEvent[]) {
    const list = settings.hooks[event];
    if (!Array.isArray(list)) continue;
    list.forEach((group, g) => {
      if (!isObject(group) || !Array.isArray(group.hooks)) return;
      group.hooks.forEach((hook, i) => {
        const command = isObject(hook) ? parseHookCommand(hook.command) : undefined;
        if (command) found.push({ event, group: g, index: i, command });
      });
    });
  }
  return found;
}

/** The events for which one of rtrack's hooks is installed. */
export function installedEvents(settings: unknown): HookEvent[] {
  const events = new Set(rtrackHooks(settings).map((h) => h.event));
  return (Object.keys(HOOK_EVENTS) as HookEvent[]).filter((e) => events.has(e));
}

/**
 * One change to the settings file's text, by JSON path: set `value` (insert it into the array at
 * the path's last index, -1 for the end, with `insert`), or remove what is at the path when there
 * is no value. The edits of a plan are made one after the other, each on the text the previous one
 * left: the text is edited, never re-serialized, so the user's formatting, comments and numbers are
 * kept (src/rules/json-text-edits.ts).
 */
export interface SettingsEdit {
  path: (string | number)[];
  value?: Json;
  insert?: boolean;
}

/**
 * The edits that make rtrack's SessionStart and SessionEnd hooks run exactly `commands[event]`: a
 * missing one is added (a group of its own at the end of the event's list); the first one there is
 * given the command when its command differs (installed with other options, by an rtrack that
 * moved, for a Node that is gone), in place, keeping its timeout and position; any further one is
 * removed. No edits when all is as asked: installing twice changes nothing.
 */
export function installEdits(settings: unknown, commands: Record<HookEvent, string>, timeout: number): SettingsEdit[] {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const hooks = (settings as JsonObject).hooks as JsonObject | undefined;
  const found = rtrackHooks(settings);
  const edits: SettingsEdit[] = [];
  for (const event of Object.keys(HOOK_EVENTS) as HookEvent[]) {
    const ours = found.filter((h) => h.event === event);
    const first = ours[0];
    if (!first) {
      const group: Json = { hooks: [{ type: 'command', command: commands[event], timeout }] };
      if (Array.isArray(hooks?.[event])) edits.push({ path: ['hooks', event, -1], value: group, insert: true });
      else edits.push({ path: ['hooks', event], value: [group] });
      continue;
    }
    const list = hooks![event] as JsonObject[];
    const current = ((list[first.group]!.hooks as JsonObject[])[first.index]!).command;
    if (current !== commands[event]) edits.push({ path: ['hooks', event, first.group, 'hooks', first.index, 'command'], value: commands[event] });
    edits.push(...removals(event, list, ours.slice(1)));
  }
  return edits;
}

/**
 * The edits that remove the hooks (of one event's list), last first so that the earlier indices
 * stay right; a group left with no hook is removed whole.
 */
function removals(event: HookEvent, list: Json[], remove: FoundHook[]): SettingsEdit[] {
  const edits: SettingsEdit[] = [];
  const groups = [...new Set(remove.map((h) => h.group))].sort((a, b) => b - a);
  for (const g of groups) {
    const inGroup = remove.filter((h) => h.group === g).map((h) => h.index).sort((a, b) => b - a);
    const size = ((list[g] as JsonObject).hooks as Json[]).length;
    if (inGroup.length === size) edits.push({ path: ['hooks', event, g] });
    else for (const i of inGroup) edits.push({ path: ['hooks', event, g, 'hooks', i] });
  }
  return edits;
}

/** The edits that remove rtrack's hooks, and the groups, event lists and `hooks` object they leave empty. */
export function uninstallEdits(settings: unknown): SettingsEdit[] {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const hooks = (settings as JsonObject).hooks;
  if (!isObject(hooks)) return [];
  const found = rtrackHooks(settings);
  const edits: SettingsEdit[] = [];
  const emptied: HookEvent[] = [];
  for (const event of Object.keys(HOOK_EVENTS) as HookEvent[]) {
    const ours = found.filter((h) => h.event === event);
    if (ours.length === 0) continue;
    const list = hooks[event] as Json[];
    const events = removals(event, list, ours);
    const removedGroups = events.filter((e) => e.path.length === 3).length;
    if (removedGroups === list.length) emptied.push(event);
    else edits.push(...events);
  }
  if (emptied.length > 0 && emptied.length === Object.keys(hooks).length) edits.push({ path: ['hooks'] });
  else for (const event of emptied) edits.push({ path: ['hooks', event] });
  return edits;
}

/**
 * The settings without rtrack's hooks, as a new object, for comparing what installing and
 * uninstalling left with what was there: apart from rtrack's hooks it must be the same. An empty
 * SessionStart or SessionEnd list, and an empty `hooks` object, count as none (installing into
 * `"hooks": {}` fills it; uninstalling removes what rtrack's hooks leave empty).
 */
export function withoutRtrackHooks(settings: unknown): Json {
  if (!isObject(settings) || !isObject(settings.hooks)) return structuredClone(settings) as Json;
  const next = structuredClone(settings);
  const hooks = next.hooks as JsonObject;
  for (const event of Object.keys(HOOK_EVENTS)) {
    const list = hooks[event];
    if (!Array.isArray(list)) continue;
    const kept: Json[] = [];
    for (const group of list) {
      if (!isObject(group) || !Array.isArray(group.hooks) || !group.hooks.some((h) => isObject(h) && isOurs(h.command))) {
        kept.push(group);
        continue;
      }
      const rest = group.hooks.filter((h) => !(isObject(h) && isOurs(h.command)));
      if (rest.length > 0) kept.push({ ...group, hooks: rest });
    }
    if (kept.length > 0) hooks[event] = kept;
    else delete hooks[event];
  }
  if (Object.keys(hooks).length === 0) delete next.hooks;
  return next;
}

/** What a SessionStart or SessionEnd hook receives on stdin (the fields rtrack uses). */
export interface HookInput {
  session_id: string;
  hook_event_name: string;
  cwd?: string;
  transcript_path?: string;
  /** SessionStart: startup, resume, clear or compact. */
  source?: string;
  /** SessionEnd: why the session ended (clear, logout, prompt_input_exit, other). */
  reason?: string;
}

/** Parses the hook's stdin; a line saying what is wrong when it is not a hook payload. */
export function parseHookInput(text: string): HookInput | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'no hook input on stdin' : 'hook input on stdin is not JSON';
  }
  if (!isObject(data)) return 'hook input is not a JSON object';
  if (typeof data.session_id !== 'string' || data.session_id === '') return 'hook input has no session_id';
  if (typeof data.hook_event_name !== 'string') return 'hook input has no hook_event_name';
  const input: HookInput = { session_id: data.session_id, hook_event_name: data.hook_event_name };
  for (const key of ['cwd', 'transcript_path', 'source', 'reason'] as const) if (typeof data[key] === 'string') input[key] = data[key];
  return input;
}
