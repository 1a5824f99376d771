// How rtrack's hooks are merged into an agent's settings and taken out. Pure: the parsed settings
// in, the edits to make to the file's text out (every other key and hook is left exactly as it was,
// byte for byte: the edits are made on the text by json-text-edits.ts).
import { HOOK_AGENT_SETTINGS, HOOK_EVENTS, parseHookCommand, type HookAgent, type HookCommand, type HookEvent } from './hook-commands.js';

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
 * kept (json-text-edits.ts).
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

/** The setting, when the settings turn every hook off (`hooksConfig.enabled: false`), else undefined. */
export function hooksTurnedOff(agent: HookAgent, settings: unknown): string | undefined {
  const { path, value } = HOOK_AGENT_SETTINGS[agent].off;
  let at: unknown = settings;
  for (const key of path) at = isObject(at) ? at[key] : undefined;
  return at === value ? `${path.join('.')}: ${String(value)}` : undefined;
}
