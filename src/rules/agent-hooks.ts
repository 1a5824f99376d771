// The hooks rtrack adds to an agent's settings, and how they are merged in and taken out. Pure:
// the parsed settings in, the edits to make to the file's text out (every other key and hook is
// left exactly as it was, byte for byte).
//
// Claude Code (verified with 2.1.332; ~/.claude/settings.json or <project>/.claude/settings.json):
//   { "hooks": { "SessionStart": [ { "hooks": [ { "type": "command", "command": "…", "timeout": 10 } ] } ],
//                "SessionEnd":   [ … ] } }
// The command runs through /bin/sh, a child of the claude process, with one JSON object on stdin.
// Other agents: Codex 0.171.0 and Gemini CLI 0.61.0 were not verified to run session hooks the
// same way here, so `rtrack hooks install` supports Claude Code only; their sessions are still
// found by markers (Codex) or by `rtrack watch` and scan's suspects.

/** Agents whose hooks rtrack can install. */
export const HOOK_AGENTS = ['claude-code'] as const;
export type HookAgent = (typeof HOOK_AGENTS)[number];

/** The events rtrack hooks, and the `rtrack session …` subcommand each runs. */
export const HOOK_EVENTS = { SessionStart: 'start', SessionEnd: 'end' } as const;
export type HookEvent = keyof typeof HOOK_EVENTS;

/** Text every command rtrack installs contains: how its own hooks are told from the user's. */
export const HOOK_MARK = ' session ';
const isOurs = (command: unknown): boolean => typeof command === 'string' && /rtrack/.test(command) && command.includes(HOOK_MARK) && command.includes('--agent ');

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

/** The events for which one of rtrack's hooks is installed. */
export function installedEvents(settings: unknown): HookEvent[] {
  if (!isObject(settings) || !isObject(settings.hooks)) return [];
  const hooks = settings.hooks;
  return (Object.keys(HOOK_EVENTS) as HookEvent[]).filter((event) => {
    const list = hooks[event];
    return Array.isArray(list) && list.some((group) => isObject(group) && Array.isArray(group.hooks) && group.hooks.some((h) => isObject(h) && isOurs(h.command)));
  });
}

/**
 * One change to the settings file's text, by JSON path: set `value` (insert it into the array at
 * the path's last index, -1 for the end, with `insert`), or remove what is at the path when there
 * is no value. The edits of a plan are made one after the other, each on the text the previous one
 * left: the text is edited, never re-serialized, so the user's formatting, comments and numbers are
 * kept (src/cli/hooks-command.ts applies them with jsonc-parser).
 */
export interface SettingsEdit {
  path: (string | number)[];
  value?: Json;
  insert?: boolean;
}

/**
 * The edits that add rtrack's SessionStart and SessionEnd hooks (`command(event)` gives each one's
 * command), unless one is there already: installing twice changes nothing.
 */
export function installEdits(settings: unknown, command: (event: HookEvent) => string, timeout = 10): SettingsEdit[] {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const hooks = (settings as JsonObject).hooks as JsonObject | undefined;
  const present = new Set(installedEvents(settings));
  const edits: SettingsEdit[] = [];
  for (const event of Object.keys(HOOK_EVENTS) as HookEvent[]) {
    if (present.has(event)) continue;
    const group: Json = { hooks: [{ type: 'command', command: command(event), timeout }] };
    if (Array.isArray(hooks?.[event])) edits.push({ path: ['hooks', event, -1], value: group, insert: true });
    else edits.push({ path: ['hooks', event], value: [group] });
  }
  return edits;
}

/** The edits that remove rtrack's hooks, and the groups, event lists and `hooks` object they leave empty. */
export function uninstallEdits(settings: unknown): SettingsEdit[] {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const hooks = (settings as JsonObject).hooks;
  if (!isObject(hooks)) return [];
  const edits: SettingsEdit[] = [];
  const emptied: string[] = [];
  for (const event of Object.keys(HOOK_EVENTS)) {
    const list = hooks[event];
    if (!Array.isArray(list)) continue;
    const removals: SettingsEdit[] = [];
    let keptGroups = 0;
    list.forEach((group, g) => {
      if (!isObject(group) || !Array.isArray(group.hooks)) return void keptGroups++;
      const ours = group.hooks.flatMap((h, i) => (isObject(h) && isOurs(h.command) ? [i] : []));
      if (ours.length === 0) keptGroups++;
      else if (ours.length === group.hooks.length) removals.push({ path: ['hooks', event, g] });
      else {
        keptGroups++;
        for (const i of ours) removals.push({ path: ['hooks', event, g, 'hooks', i] });
      }
    });
    if (removals.length === 0) continue;
    if (keptGroups === 0) emptied.push(event);
    else edits.push(...removals.reverse()); // the last first: the earlier indices stay right
  }
  if (emptied.length > 0 && emptied.length === Object.keys(hooks).length) edits.push({ path: ['hooks'] });
  else for (const event of emptied) edits.push({ path: ['hooks', event] });
  return edits;
}

/**
 * The settings without rtrack's hooks and the groups, event lists and `hooks` object they leave
 * empty, as a new object: what installing and uninstalling must leave exactly as it was (the edits'
 * result is checked against it).
 */
export function withoutRtrackHooks(settings: unknown): Json {
  if (!isObject(settings) || !isObject(settings.hooks)) return structuredClone(settings) as Json;
  const next = structuredClone(settings);
  const hooks = next.hooks as JsonObject;
  let changed = false;
  for (const event of Object.keys(HOOK_EVENTS)) {
    const list = hooks[event];
    const hasOurs = (group: Json): boolean => isObject(group) && Array.isArray(group.hooks) && group.hooks.some((h) => isObject(h) && isOurs(h.command));
    if (!Array.isArray(list) || !list.some(hasOurs)) continue;
    changed = true;
    const kept: Json[] = [];
    for (const group of list) {
      if (!hasOurs(group)) {
        kept.push(group);
        continue;
      }
      const rest = ((group as JsonObject).hooks as Json[]).filter((h) => !(isObject(h) && isOurs(h.command)));
      if (rest.length > 0) kept.push({ ...(group as JsonObject), hooks: rest });
    }
    if (kept.length > 0) hooks[event] = kept;
    else delete hooks[event];
  }
  if (changed && Object.keys(hooks).length === 0) delete next.hooks;
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
