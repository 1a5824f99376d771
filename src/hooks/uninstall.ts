// `rtrack hooks uninstall`: rtrack's hooks taken out of an agent's settings file, everything else in
// it left byte for byte (agent-settings.ts); for opencode, rtrack's plugin file removed, recognised
// exactly. And, for `rtrack uninstall`, where rtrack's hooks are (hookFiles).
import { lstatSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { applySettingsEdits, changeSettings, parseSettings, planned, readIfThere, UnusableSettings } from './agent-settings.js';
import { HOOK_AGENT_SETTINGS, HOOK_AGENTS, isPluginAgent, type HookAgent, type PluginAgent } from './hook-commands.js';
import { opencodePluginPath, pluginFiles, settingsFiles, userSettings } from './locations.js';
import { notOurPlugin, parseOpencodePlugin } from './opencode-plugin.js';
import { checkSettingsLinks } from './path-checks.js';
import { rtrackHooks, uninstallEdits } from './settings-edits.js';
import { readSmallFile, resolveTarget } from './settings-file.js';

/** What `rtrack hooks uninstall` was asked. */
export interface RemoveOptions {
  /** Another settings file (opencode: a plugin file, or directory) than the user's. */
  settings?: string;
  dryRun?: boolean;
  /** Keep no backup of the settings (`rtrack uninstall` removes rtrack's backups). */
  noBackup?: boolean;
}

/** `rtrack hooks uninstall <agent>`: rtrack's hooks (opencode: its plugin) removed, what was done said on `out`. */
export function removeAgentHooks(agent: HookAgent | PluginAgent, options: RemoveOptions, out: NodeJS.WritableStream): void {
  if (isPluginAgent(agent)) return uninstallOpencodePlugin(options, out);
  const { comments } = HOOK_AGENT_SETTINGS[agent];
  const path = resolve(options.settings ?? userSettings(agent));
  checkSettingsLinks(path, options.settings, userSettings(agent));
  const edit = (text: string | undefined): string | undefined => {
    if (text === undefined) return undefined;
    const edits = planned(path, () => uninstallEdits(parseSettings(path, text, comments)));
    return edits.length === 0 ? undefined : applySettingsEdits(path, text, edits, comments);
  };
  if (options.dryRun) {
    const next = edit(readIfThere(path));
    out.write(next === undefined ? `rtrack: no rtrack hooks in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    return;
  }
  const result = changeSettings(path, edit, { backup: !options.noBackup });
  if (!result.changed) {
    out.write(`rtrack: no rtrack hooks in ${path}\n`);
    return;
  }
  out.write(`rtrack: removed rtrack's hooks from ${path}${result.backup ? `; the previous file is ${result.backup}` : ''}\n`);
}

/**
 * `rtrack hooks uninstall opencode`: removes rtrack's plugin file, recognised exactly; anything else
 * of that name stays. A symbolic link to it (from a dotfiles repository) goes with it: the file it
 * points to, which rtrack wrote, is removed, then the link — not the link alone, which would leave
 * rtrack's plugin in the dotfiles, to come back with the next link made to it.
 */
function uninstallOpencodePlugin(options: RemoveOptions, out: NodeJS.WritableStream): void {
  const path = opencodePluginPath(options.settings);
  checkSettingsLinks(path, options.settings, opencodePluginPath(undefined));
  const target = resolveTarget(path);
  const text = readIfThere(target);
  if (text === undefined) {
    out.write(`rtrack: no rtrack plugin at ${path}\n`);
    return;
  }
  const foreign = notOurPlugin(target, text);
  if (foreign) {
    out.write(`rtrack: ${foreign}\n`);
    return;
  }
  let linked = false;
  try {
    linked = target !== path && lstatSync(path).isSymbolicLink();
  } catch {
    // the file alone
  }
  const what = `${target}${linked ? ` and the link ${path} to it` : ''}`;
  if (options.dryRun) {
    out.write(`rtrack: dry run — ${what} would be removed\n`);
    return;
  }
  for (const file of linked ? [target, path] : [target]) {
    try {
      unlinkSync(file);
    } catch (err) {
      throw new Error(`hooks: cannot remove ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  out.write(`rtrack: removed rtrack's opencode plugin ${what}; opencode runs without it from its next start\n`);
}

/**
 * For `rtrack uninstall`: each agent's hook files — the user's (each agent's user settings,
 * opencode's plugin) and this project's — with rtrack's hooks in each: how many (a plugin is one),
 * or why the file cannot be read. Files that do not exist are left out.
 */
export function hookFiles(): { agent: HookAgent | PluginAgent; path: string; project: boolean; hooks: number | string }[] {
  const files: { agent: HookAgent | PluginAgent; path: string; project: boolean; hooks: number | string }[] = [];
  for (const agent of HOOK_AGENTS) {
    const { comments } = HOOK_AGENT_SETTINGS[agent];
    for (const path of new Set(settingsFiles(agent))) {
      const read = readSmallFile(path);
      if (read === undefined) continue;
      let hooks: number | string;
      try {
        hooks = 'problem' in read ? read.problem : rtrackHooks(parseSettings(path, read.text, comments)).length;
      } catch (err) {
        hooks = err instanceof UnusableSettings ? err.why : 'not valid JSON';
      }
      files.push({ agent, path, project: path !== userSettings(agent), hooks });
    }
  }
  for (const path of new Set(pluginFiles())) {
    const read = readSmallFile(path);
    if (read === undefined) continue;
    files.push({ agent: 'opencode', path, project: path !== opencodePluginPath(undefined), hooks: 'problem' in read ? read.problem : parseOpencodePlugin(read.text) ? 1 : 0 });
  }
  return files;
}
