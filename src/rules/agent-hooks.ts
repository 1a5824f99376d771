// The hooks rtrack adds to an agent's settings, and how they are merged in and taken out. Pure:
// a parsed settings object in, a new one out; every other key and hook is left exactly as it was.
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
 * Adds rtrack's SessionStart and SessionEnd hooks (`command(event)` gives each one's command),
 * unless one is there already: installing twice adds nothing. Returns a new object.
 */
export function withHooks(settings: unknown, command: (event: HookEvent) => string, timeoutSeconds = 10): { settings: JsonObject; changed: boolean } {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const next = structuredClone(settings) as JsonObject;
  const present = new Set(installedEvents(next));
  let changed = false;
  for (const event of Object.keys(HOOK_EVENTS) as HookEvent[]) {
    if (present.has(event)) continue;
    const hooks = (next.hooks ??= {}) as JsonObject;
    const list = (hooks[event] ??= []) as Json[];
    list.push({ hooks: [{ type: 'command', command: command(event), timeout: timeoutSeconds }] });
    changed = true;
  }
  return { settings: next, changed };
}

/** Removes rtrack's hooks, and the groups, event lists and `hooks` object they leave empty. */
export function withoutHooks(settings: unknown): { settings: JsonObject; changed: boolean } {
  const problem = settingsProblem(settings);
  if (problem) throw new Error(problem);
  const next = structuredClone(settings) as JsonObject;
  if (!isObject(next.hooks)) return { settings: next, changed: false };
  const hooks = next.hooks;
  let changed = false;
  for (const event of Object.keys(HOOK_EVENTS)) {
    const list = hooks[event];
    if (!Array.isArray(list)) continue;
    const kept: Json[] = [];
    for (const group of list) {
      if (!isObject(group) || !Array.isArray(group.hooks) || !group.hooks.some((h) => isObject(h) && isOurs(h.command))) {
        kept.push(group);
        continue;
      }
      changed = true;
      const rest = group.hooks.filter((h) => !(isObject(h) && isOurs(h.command)));
      if (rest.length > 0) kept.push({ ...group, hooks: rest });
    }
    if (kept.length > 0) hooks[event] = kept;
    else delete hooks[event];
  }
  if (changed && Object.keys(hooks).length === 0) delete next.hooks;
  return { settings: next, changed };
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
