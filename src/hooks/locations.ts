// Where things are for `rtrack hooks`: each agent's settings files and opencode's plugin files — the
// user's, and those of the project in the working directory — and this rtrack (what the hooks run).
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageFile } from '../files.js';
import { HOOK_AGENT_SETTINGS, type HookAgent } from './hook-commands.js';
import { OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE } from './opencode-plugin.js';

/** This rtrack's bin/rtrack.js: what the hooks and the plugin it installs run. */
export const RTRACK_BIN = packageFile('bin/rtrack.js');

const home = (): string => process.env.HOME || homedir();

/** The agent's user-level settings file (Claude Code: ~/.claude/settings.json; Gemini CLI: ~/.gemini/settings.json). */
export function userSettings(agent: HookAgent): string {
  const { directory, userFile } = HOOK_AGENT_SETTINGS[agent];
  return join(home(), directory, userFile);
}

/** The agent's settings files rtrack knows of: the user's, then this project's (in the working directory). */
export function settingsFiles(agent: HookAgent): string[] {
  const { directory, projectFiles } = HOOK_AGENT_SETTINGS[agent];
  return [userSettings(agent), ...projectFiles.map((f) => resolve(directory, f))];
}

/** opencode's global config directory: `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode` (as opencode finds it). */
const opencodeConfigDirectory = (): string => join(process.env.XDG_CONFIG_HOME || join(home(), '.config'), 'opencode');

/** Where rtrack's opencode plugin goes: `--settings` (a file, or a plugin directory), else the user's global plugin directory. */
export function opencodePluginPath(settings: string | undefined): string {
  if (settings === undefined) return join(opencodeConfigDirectory(), OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE);
  const path = resolve(settings);
  try {
    if (statSync(path).isDirectory()) return join(path, OPENCODE_PLUGIN_FILE);
  } catch {
    // not there yet: a file to write
  }
  return path;
}

/** opencode's plugin files rtrack knows of: the user's global one, then this project's. */
export const pluginFiles = (): string[] => [opencodePluginPath(undefined), resolve('.opencode', OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE)];
