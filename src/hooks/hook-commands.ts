// The hooks rtrack installs: for which agents, in which of their settings files, and the command each
// runs — written (hookCommand) and recognised exactly (parseHookCommand). Pure: paths in, the
// command's text out, and back.
//
// Claude Code (verified with 2.1.332; ~/.claude/settings.json, <project>/.claude/settings.json or
// settings.local.json) and Gemini CLI (verified with 0.61.0; ~/.gemini/settings.json,
// <project>/.gemini/settings.json, which may hold comments) take hooks of one shape:
//   { "hooks": { "SessionStart": [ { "hooks": [ { "type": "command", "command": "…", "timeout": 10 } ] } ],
//                "SessionEnd":   [ … ] } }
// (Claude Code's timeout is in seconds, Gemini CLI's in milliseconds). The command runs through
// /bin/sh -c, a child of the agent process, with one JSON object on stdin (hook-input.ts). How the
// hooks are merged into a settings file and taken out: settings-edits.ts.
// Codex needs no hooks: its sessions are found by their markers (src/rules/agents.ts); it has a
// SessionStart hook but no SessionEnd. opencode has no hooks of this shape: rtrack installs a plugin
// for it instead (opencode-plugin.ts).

import type { AgentName } from '../rules/agents.js';
import { shellQuote } from '../text.js';
import { DAEMON_ENV_VAR } from '../types.js';

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

/** Agents that take rtrack's plugin instead of hooks (opencode: opencode-plugin.ts). */
export const PLUGIN_AGENTS = ['opencode'] as const;
export type PluginAgent = (typeof PLUGIN_AGENTS)[number];

/** Whether the agent takes rtrack's plugin rather than hooks. */
export const isPluginAgent = (agent: HookAgent | PluginAgent): agent is PluginAgent => (PLUGIN_AGENTS as readonly string[]).includes(agent);

/** Why `rtrack hooks install` installs nothing for an agent it knows but has no hooks for (one line). */
export const NO_HOOKS: Readonly<Record<Exclude<AgentName, HookAgent | PluginAgent>, string>> = {
  codex: 'Codex needs no hooks: rtrack finds its sessions by the markers its processes carry (CODEX_SESSION_ID, and the session file the codex process holds open); Codex has no SessionEnd hook',
};

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

