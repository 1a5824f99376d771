// `rtrack hooks status`, and what `rtrack sessions` says of the follower's config: for each agent's
// settings files and opencode's plugin files, rtrack's hooks in them — installed, stale (their
// rtrack or Node gone), unsafe (others could replace what they run), turned off —, the config the
// follower reads and whether it reaps, and whether the follower runs.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfigFile, userConfigPath } from '../config.js';
import { ConfigError } from '../errors.js';
import { stateDirectory, stateDirectoryDistrust } from '../files.js';
import { followerStartProblem, runningFollower } from '../operations/agent-sessions.js';
import { agentWithAlias } from '../rules/agents.js';
import { parseSettings, readIfThere, UnusableSettings } from './agent-settings.js';
import { HOOK_AGENT_SETTINGS, HOOK_AGENTS, HOOK_EVENTS, NO_HOOKS, type HookAgent, type HookCommand, type HookEvent } from './hook-commands.js';
import { pluginFiles, RTRACK_BIN, settingsFiles } from './locations.js';
import { parseOpencodePlugin } from './opencode-plugin.js';
import { sharedFiles, type Runs } from './path-checks.js';
import { hooksTurnedOff, rtrackHooks } from './settings-edits.js';
import { readSmallFile } from './settings-file.js';

/** `hooks status`: `; unsafe: …` when what the hooks run could be put in place by someone else (sharedFiles); else ''. */
function unsafeNote(runs: Runs[]): string {
  const shared = [...new Set(runs.flatMap(sharedFiles))];
  return shared.length === 0 ? '' : `; unsafe: ${shared.join('; ')}: someone else could have your agent run their code as you`;
}

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

/**
 * The config the follower reads and whether it reaps, in words: the hooks' --config when they were
 * installed with one; else the per-user config file when it exists; else the defaults (reaping off).
 */
export async function followerConfig(config: string | undefined): Promise<{ text: string; off: boolean }> {
  const file = config ?? (existsSync(userConfigPath()) ? userConfigPath() : undefined);
  if (file === undefined) return { text: `reaping is off: the follower reads no config file (there is no ${userConfigPath()}), the defaults`, off: true };
  try {
    const read = readSmallFile(file); // a config a repository's hooks name may be a FIFO, or /dev/zero
    if (read === undefined || 'problem' in read) throw new ConfigError(`${file}: cannot read config: ${read?.problem ?? 'no such file'}`);
    const { sessions } = parseConfigFile(read.text, file);
    return { text: `reaping is ${sessions.reap ? 'on' : 'off'}: the follower reads ${file}`, off: !sessions.reap };
  } catch (err) {
    return { text: `the follower cannot use its config: ${(err as Error).message}`, off: false };
  }
}

/**
 * For `rtrack sessions` and `hooks status`: whether the follower reaps and which config it reads,
 * in words, one line for each config the installed hooks and opencode plugins that still run name
 * (the user's settings files and this project's): their --config, else the per-user config.
 * Without hooks no session is followed: say how to start.
 */
export async function followerConfigLines(): Promise<string[]> {
  const configs = new Map<string | undefined, Set<string>>(); // config (undefined: the per-user one) → agents whose hooks name it
  for (const agent of HOOK_AGENTS) {
    for (const path of new Set(settingsFiles(agent))) {
      let settings: unknown;
      try {
        settings = parseSettings(path, readIfThere(path), HOOK_AGENT_SETTINGS[agent].comments);
      } catch {
        continue; // not valid JSON: `rtrack hooks status` says so
      }
      for (const hook of rtrackHooks(settings)) {
        if (hook.event !== 'SessionStart' || staleBecause(hook.command)) continue;
        const agents = configs.get(hook.command.config) ?? new Set<string>();
        agents.add(hook.command.agent);
        configs.set(hook.command.config, agents);
      }
    }
  }
  for (const path of new Set(pluginFiles())) {
    const read = readSmallFile(path);
    const plugin = read && !('problem' in read) ? parseOpencodePlugin(read.text) : undefined;
    if (!plugin || staleBecause({ ...plugin, subcommand: 'start', agent: 'opencode', form: 'detached' })) continue;
    configs.set(plugin.config, (configs.get(plugin.config) ?? new Set<string>()).add('opencode'));
  }
  if (configs.size === 0) return ['no agent hooks are installed, so no session is followed: `rtrack hooks install claude --reap` follows every Claude Code session and reaps what each one leaves'];
  const lines: string[] = [];
  for (const [config, agents] of configs) {
    const { text, off } = await followerConfig(config);
    lines.push(`${[...agents].join(', ')} sessions: ${text}${off && config === undefined ? `; \`rtrack hooks install ${[...agents][0]} --reap\` turns it on` : ''}`);
  }
  return lines;
}

/** One plugin file's state for `hooks status`: installed, stale, not rtrack's, no such file. */
async function pluginStatusOf(path: string): Promise<string> {
  const read = readSmallFile(path);
  if (read === undefined) return 'no such file';
  if ('problem' in read) return read.problem;
  const { text } = read;
  const plugin = parseOpencodePlugin(text);
  if (!plugin) return "not rtrack's plugin (a file of that name that rtrack did not write, or an edited copy)";
  const stale = staleBecause({ ...plugin, subcommand: 'start', agent: 'opencode', form: 'detached' });
  const unsafe = unsafeNote([plugin]);
  if (stale) return `rtrack's plugin, stale: it no longer runs rtrack, ${stale}; \`rtrack hooks install opencode\` repairs it${unsafe}`;
  const notes: string[] = [];
  if (plugin.bin !== RTRACK_BIN) notes.push(`it runs ${plugin.bin}`);
  if (plugin.config !== undefined) notes.push((await followerConfig(plugin.config)).text);
  return `rtrack's plugin installed (session start, OPENCODE_SESSION_ID in tool commands, session end)${notes.map((n) => `; ${n}`).join('')}${unsafe}`;
}

/** One settings file's state for `hooks status`: installed (which events), stale, no rtrack hooks, no such file, not valid JSON. */
async function statusOf(path: string, agent: HookAgent | undefined): Promise<string> {
  const read = readSmallFile(path);
  if (read === undefined) return 'no such file';
  if ('problem' in read) return read.problem;
  const { text } = read;
  let settings: unknown;
  try {
    settings = parseSettings(path, text, agent === undefined || HOOK_AGENT_SETTINGS[agent].comments);
  } catch (err) {
    return err instanceof UnusableSettings ? err.why : 'not valid JSON';
  }
  const found = rtrackHooks(settings);
  const offAgent = agent ?? found[0]?.command.agent;
  const off = offAgent !== undefined && (HOOK_AGENTS as readonly string[]).includes(offAgent) ? hooksTurnedOff(offAgent as HookAgent, settings) : undefined;
  const offNote = off ? `; every hook is turned off here (${off})` : '';
  if (found.length === 0) return `no rtrack hooks${offNote}`;
  const events = (Object.keys(HOOK_EVENTS) as HookEvent[]).filter((e) => found.some((h) => h.event === e));
  const agents = [...new Set(found.map((h) => h.command.agent))].join(', ');
  const stale = [...new Set(found.map((h) => staleBecause(h.command)).filter((why) => why !== undefined))];
  const unsafe = unsafeNote(found.map((h) => h.command));
  if (stale.length > 0) return `${agents} hooks stale (${events.join(', ')}): they no longer run, ${stale.join(', ')}; \`rtrack hooks install ${found[0]!.command.agent}\` repairs them${offNote}${unsafe}`;
  const notes: string[] = [];
  if (found.some((h) => h.command.form === 'bare')) notes.push(`an earlier form that fails loudly once rtrack is removed: \`rtrack hooks install ${found[0]!.command.agent}\` updates it`);
  else if (found.some((h) => h.command.form === 'guarded')) notes.push(`an earlier form that has the agent wait for Node at each session's start and end: \`rtrack hooks install ${found[0]!.command.agent}\` updates it`);
  const others = [...new Set(found.map((h) => h.command.bin).filter((bin) => bin !== RTRACK_BIN))];
  if (others.length > 0) notes.push(`they run ${others.join(', ')}`);
  const configs = [...new Set(found.map((h) => h.command.config).filter((c) => c !== undefined))];
  for (const c of configs) notes.push((await followerConfig(c)).text);
  return `${agents} hooks installed (${events.join(', ')})${notes.map((n) => `; ${n}`).join('')}${offNote}${unsafe}`;
}

/** `rtrack hooks status`, line by line: the file named with --settings (`settings`) first, then every agent's. */
export async function hooksStatusLines(settings: string | undefined): Promise<string[]> {
  const shown = new Set<string>();
  const lines: string[] = [];
  if (settings !== undefined) {
    const path = resolve(settings);
    shown.add(path);
    lines.push(`${path}: ${await statusOf(path, undefined)}`);
  }
  for (const agent of HOOK_AGENTS) {
    lines.push(`${agentWithAlias(agent)}:`);
    for (const path of settingsFiles(agent)) {
      if (shown.has(path)) continue;
      shown.add(path);
      lines.push(`  ${path}: ${await statusOf(path, agent)}`);
    }
  }
  lines.push('opencode (its plugin):');
  for (const path of pluginFiles()) {
    if (shown.has(path)) continue;
    shown.add(path);
    lines.push(`  ${path}: ${await pluginStatusOf(path)}`);
  }
  for (const [agent, why] of Object.entries(NO_HOOKS)) lines.push(`${agent}: ${why}`);
  lines.push(...(await followerConfigLines())); // read now: after an uninstall, no hooks and no config they would read
  const state = stateDirectory();
  const follower = await runningFollower(state);
  const failed = follower ? undefined : followerStartProblem(state);
  const distrust = stateDirectoryDistrust(state);
  lines.push(
    `follower: ${follower ? `running (pid ${follower.pid})` : 'not running'}; state in ${state}${distrust ? `; ${distrust}: the hooks do nothing until it is fixed` : ''}${failed ? `; the last one could not start (${failed.at}): ${failed.message}` : ''}`,
  );
  return lines;
}
