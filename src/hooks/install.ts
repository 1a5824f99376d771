// `rtrack hooks install`: rtrack's SessionStart/SessionEnd hooks merged into an agent's settings file
// without touching anything else (agent-settings.ts); for opencode, which has no such hooks, rtrack's
// plugin file in its plugin directory (opencode-plugin.ts); with --reap, reaping turned on in the
// per-user config. Refused before anything is written when the hooks would run files others could
// replace (path-checks.ts), or an rtrack that npm may remove (npx's cache). What was done is said on
// `out`, a line each (the CLI's stdout).
import { resolve } from 'node:path';
import { configTextWithReap, loadConfigFile, userConfigPath } from '../config.js';
import { ConfigError, UsageError } from '../errors.js';
import { forgetSaid } from '../said-once.js';
import { applySettingsEdits, changeSettings, parseSettings, planned, readIfThere } from './agent-settings.js';
import { HOOK_AGENT_SETTINGS, HOOK_EVENTS, hookCommand, isPluginAgent, SAID_GONE, type HookAgent, type HookEvent, type PluginAgent } from './hook-commands.js';
import { opencodePluginPath, RTRACK_BIN, userSettings } from './locations.js';
import { notOurPlugin, opencodePluginText } from './opencode-plugin.js';
import { checkSettingsLinks, sharedFiles, type Runs } from './path-checks.js';
import { transientInstallProblem } from './path-safety.js';
import { hooksTurnedOff, installEdits, rtrackHooks } from './settings-edits.js';
import { checkReplaceable, FileRefused, replaceFileText, type ReplaceResult } from './settings-file.js';
import { followerConfig } from './status.js';

/** What `rtrack hooks install` was asked. */
export interface InstallOptions {
  /** Another settings file (opencode: a plugin file, or directory) than the user's. */
  settings?: string;
  dryRun?: boolean;
  /** The config the follower is told to read. */
  config?: string;
  /** Turn reaping on in the per-user config. */
  reap?: boolean;
  /** Name rtrack, Node or the config even where others could put their own file in their place. */
  allowSharedPath?: boolean;
}

/** `rtrack hooks install <agent>`: its hooks (opencode: rtrack's plugin) installed, what was done said on `out`. */
export async function installAgentHooks(agent: HookAgent | PluginAgent, options: InstallOptions, out: NodeJS.WritableStream): Promise<void> {
  const transient = transientInstallProblem(RTRACK_BIN);
  if (transient) throw new UsageError(`hooks: ${transient}`);
  const userConfig = userConfigPath();
  if (options.reap && options.config !== undefined) {
    throw new UsageError(`hooks: --reap turns reaping on in ${userConfig}, which the follower does not read when the hooks name --config ${options.config}: set sessions: reap: true under diagnostics.resource_tracking there instead`);
  }
  const config = options.config === undefined ? {} : { config: resolve(options.config) };
  if (config.config !== undefined) await loadConfigFile(config.config); // one that rtrack would read nothing from, or wrongly: exit 2
  const shared = sharedNote({ node: process.execPath, bin: RTRACK_BIN, ...config }, options, isPluginAgent(agent) ? 'plugin' : 'hooks');
  if (isPluginAgent(agent)) await installOpencodePlugin(options, config, out);
  else await installHooks(agent, options, config, out);
  if (shared) out.write(`${shared}\n`);
}

/** `rtrack hooks install <agent>` for an agent that takes hooks (Claude Code, Gemini CLI). */
async function installHooks(agent: HookAgent, options: InstallOptions, config: { config?: string }, out: NodeJS.WritableStream): Promise<void> {
  const { comments, timeout } = HOOK_AGENT_SETTINGS[agent];
  const path = resolve(options.settings ?? userSettings(agent));
  checkSettingsLinks(path, options.settings, userSettings(agent));
  const commands = Object.fromEntries(
    (Object.keys(HOOK_EVENTS) as HookEvent[]).map((event) => [event, hookCommand({ node: process.execPath, bin: RTRACK_BIN, subcommand: HOOK_EVENTS[event], agent, ...config })]),
  ) as Record<HookEvent, string>;
  let had = 0;
  const edit = (text: string | undefined): string | undefined => {
    const settings = parseSettings(path, text, comments);
    had = rtrackHooks(settings).length;
    const edits = planned(path, () => installEdits(settings, commands, timeout));
    return edits.length === 0 ? undefined : applySettingsEdits(path, text, edits, comments);
  };
  if (options.dryRun) {
    const next = edit(readIfThere(path));
    out.write(next === undefined ? `rtrack: the ${agent} hooks are already installed in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    if (options.reap) dryRunReap(out);
    return;
  }
  if (options.reap) checkReapable(); // a config that is not valid, or that rtrack cannot write: exit 2 before anything is written
  const result = changeSettings(path, edit);
  if (!result.changed) out.write(`rtrack: the ${agent} hooks are already installed in ${path}\n`);
  else {
    const where = result.target === path ? path : `${path} (a link to ${result.target})`;
    out.write(`rtrack: ${had > 0 ? 'updated' : 'installed'} the ${agent} SessionStart and SessionEnd hooks in ${where}${result.backup ? `; the previous file is ${result.backup}` : ''}\n`);
  }
  forgetSaid(SAID_GONE); // a hook that finds rtrack gone again says so again
  const off = turnedOffNote(agent, [path, userSettings(agent)]);
  if (off) out.write(`${off}\n`);
  await reapingAfterInstall(agent, options, config, out);
}

/** The per-user config's text with reaping on; undefined when it is on already (a config that is not valid: exit 2). */
const reapedConfigText = (text: string | undefined): string | undefined => configTextWithReap(text, userConfigPath());

/** Throws (exit 2) when --reap could not turn reaping on in the per-user config: checked before the settings are written. */
function checkReapable(): void {
  const text = reapedConfigText(readIfThere(userConfigPath()));
  if (text === undefined) return;
  try {
    checkReplaceable(userConfigPath());
  } catch (err) {
    if (err instanceof FileRefused) throw new UsageError(`hooks: ${err.message}`);
    throw new Error(`hooks: ${(err as Error).message}`);
  }
}

/** --dry-run --reap: what the per-user config would become. */
function dryRunReap(out: NodeJS.WritableStream): void {
  const text = reapedConfigText(readIfThere(userConfigPath()));
  out.write(text === undefined ? `rtrack: reaping is on already in ${userConfigPath()}\n` : `rtrack: dry run — ${userConfigPath()} would become:\n${text}`);
}

/** After installing: with --reap, reaping turned on in the per-user config; then which config the follower reads, and whether it reaps. */
async function reapingAfterInstall(agent: string, options: InstallOptions, config: { config?: string }, out: NodeJS.WritableStream): Promise<void> {
  const userConfig = userConfigPath();
  if (options.reap) {
    let written: ReplaceResult;
    try {
      written = replaceFileText(userConfig, reapedConfigText);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      if (err instanceof FileRefused) throw new UsageError(`hooks: ${err.message}`);
      throw new Error(`hooks: ${(err as Error).message}`);
    }
    if (written.changed) out.write(`rtrack: turned reaping on in ${userConfig}${written.backup ? `; the previous file is ${written.backup}` : ''}\n`);
  }
  const reaping = await followerConfig(config.config);
  out.write(`rtrack: ${reaping.text}${reaping.off && config.config === undefined ? `; \`rtrack hooks install ${agent} --reap\` turns it on` : ''}\n`);
}

/**
 * `rtrack hooks install opencode`: rtrack's plugin file in opencode's plugin directory, written the
 * safe way (settings-file.ts) — no backup of a previous version of rtrack's own file, and a
 * file of that name that is not rtrack's is refused (one line, exit 2, unchanged).
 */
async function installOpencodePlugin(options: InstallOptions, config: { config?: string }, out: NodeJS.WritableStream): Promise<void> {
  const path = opencodePluginPath(options.settings);
  checkSettingsLinks(path, options.settings, opencodePluginPath(undefined));
  const text = opencodePluginText({ node: process.execPath, bin: RTRACK_BIN, ...config });
  let had = false;
  const edit = (current: string | undefined): string | undefined => {
    if (current !== undefined) {
      const foreign = notOurPlugin(path, current);
      if (foreign) throw new UsageError(`hooks: ${foreign}`);
      had = true;
    }
    return current === text ? undefined : text;
  };
  if (options.dryRun) {
    const next = edit(readIfThere(path));
    out.write(next === undefined ? `rtrack: the opencode plugin is already installed at ${path}\n` : `rtrack: dry run — ${path} would be written:\n${next}`);
    if (options.reap) dryRunReap(out);
    return;
  }
  if (options.reap) checkReapable(); // a config that is not valid, or that rtrack cannot write: exit 2 before anything is written
  const result = changeSettings(path, edit, { backup: false });
  if (!result.changed) out.write(`rtrack: the opencode plugin is already installed at ${path}\n`);
  else {
    const where = result.target === path ? path : `${path} (a link to ${result.target})`;
    out.write(`rtrack: ${had ? 'updated' : 'installed'} the opencode plugin at ${where}: opencode loads it at its next start\n`);
  }
  await reapingAfterInstall('opencode', options, config, out);
}

/**
 * `hooks install`: refuses (usage error, exit 2, before anything is written) hooks or a plugin that
 * would run a file another user could put in place — a checkout in /tmp, removed later, lets anyone
 * make that path and have the user's agent run their code as the user (root included) — unless
 * --allow-shared-path; with it, the line to print after installing, saying what is unsafe.
 */
function sharedNote(runs: Runs, options: InstallOptions, what: 'hooks' | 'plugin'): string | undefined {
  const shared = sharedFiles(runs);
  if (shared.length === 0) return undefined;
  if (options.allowSharedPath) return `rtrack: note: --allow-shared-path: the ${what} run files others could replace (${shared.join('; ')}); \`rtrack hooks status\` marks them unsafe`;
  throw new UsageError(
    `hooks: the ${what} would run files others could replace, and so have your agent run their code as you: ${shared.join('; ')}; install rtrack (and Node, the config) where only you and root can write, or give --allow-shared-path; nothing was written`,
  );
}

/** A note when the agent will not run the hooks: the file (or the user's settings) turns every hook off. */
function turnedOffNote(agent: HookAgent, files: string[]): string | undefined {
  const { comments } = HOOK_AGENT_SETTINGS[agent];
  for (const file of new Set(files)) {
    let off: string | undefined;
    try {
      off = hooksTurnedOff(agent, parseSettings(file, readIfThere(file), comments));
    } catch {
      continue;
    }
    if (off) return `rtrack: note: ${file} turns every hook off (${off}): ${agent} runs none until that is changed`;
  }
  return undefined;
}
