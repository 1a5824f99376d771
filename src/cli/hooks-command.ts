// `rtrack hooks install|uninstall|status`: rtrack's SessionStart/SessionEnd hooks in an agent's
// settings file, merged in and taken out without touching anything else; for opencode, which has no
// such hooks, rtrack's plugin file in its plugin directory (src/rules/opencode-plugin.ts). The file's text is edited,
// never re-serialized (src/rules/json-text-edits.ts): comments, key order, numbers and every other
// byte stay (a one-line file becomes indented). It is written the safe way (src/settings-file.ts).
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { configTextWithReap, loadConfigFile, parseConfigFile, userConfigPath } from '../config.js';
import { ConfigError } from '../errors.js';
import { packageFile, stateDirectory, stateDirectoryDistrust } from '../files.js';
import { followerStartProblem, runningFollower } from '../operations/agent-sessions.js';
import {
  HOOK_AGENT_SETTINGS,
  HOOK_AGENTS,
  HOOK_EVENTS,
  hookCommand,
  hooksTurnedOff,
  installEdits,
  NO_HOOKS,
  PLUGIN_AGENTS,
  rtrackHooks,
  SAID_GONE,
  sharedEntryProblem,
  transientInstallProblem,
  uninstallEdits,
  withoutRtrackHooks,
  type HookAgent,
  type HookCommand,
  type HookEvent,
  type PluginAgent,
  type SettingsEdit,
} from '../rules/agent-hooks.js';
import { agentWithAlias, canonicalAgentName } from '../rules/agents.js';
import { applyJsonTextEdit, lostComments } from '../rules/json-text-edits.js';
import { OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE, opencodePluginText, parseOpencodePlugin } from '../rules/opencode-plugin.js';
import { checkReplaceable, FileRefused, readSmallFile, replaceFileText, resolveTarget, type ReplaceOptions, type ReplaceResult } from '../settings-file.js';
import { UsageError } from './common.js';
import { forgetSaid } from './said-once.js';

const RTRACK_BIN = packageFile('bin/rtrack.js');

/** jsonc-parser, loaded when a hooks command runs (this module is bundled into the CLI; the parser stays in node_modules). */
type Jsonc = typeof import('jsonc-parser');
let jsonc: Jsonc | undefined;
const loadJsonc = (): Jsonc => (jsonc ??= createRequire(import.meta.url)('jsonc-parser') as Jsonc);

export interface HooksOptions {
  settings?: string;
  dryRun?: boolean;
  config?: string;
  /** install: turn reaping on in the per-user config. */
  reap?: boolean;
  /** install: name rtrack, Node or the config even where others could put their own file in their place. */
  allowSharedPath?: boolean;
  /** uninstall: keep no backup of the settings (`rtrack uninstall` removes rtrack's backups). */
  noBackup?: boolean;
}

/** The agent named (or its command's name), when rtrack installs hooks (opencode: its plugin) for it; else one line saying why not (exit 2). */
function hookAgent(name: string): HookAgent | PluginAgent {
  const agent = canonicalAgentName(name);
  if (agent === undefined) {
    throw new UsageError(`hooks: unknown agent ${JSON.stringify(name)} (hooks: ${HOOK_AGENTS.map(agentWithAlias).join(', ')}; a plugin: ${PLUGIN_AGENTS.join(', ')}; ${Object.keys(NO_HOOKS).join(' and ')} needs none)`);
  }
  if ((PLUGIN_AGENTS as readonly string[]).includes(agent)) return agent as PluginAgent;
  if (!(HOOK_AGENTS as readonly string[]).includes(agent)) throw new UsageError(`hooks: ${NO_HOOKS[agent as keyof typeof NO_HOOKS]}`);
  return agent as HookAgent;
}

const isPluginAgent = (agent: HookAgent | PluginAgent): agent is PluginAgent => (PLUGIN_AGENTS as readonly string[]).includes(agent);

/** opencode's global config directory: `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode` (as opencode finds it). */
const opencodeConfigDirectory = (): string => join(process.env.XDG_CONFIG_HOME || join(home(), '.config'), 'opencode');

/** Where rtrack's opencode plugin goes: `--settings` (a file, or a plugin directory), else the user's global plugin directory. */
function opencodePluginPath(settings: string | undefined): string {
  if (settings === undefined) return join(opencodeConfigDirectory(), OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE);
  const path = resolve(settings);
  try {
    if (statSync(path).isDirectory()) return join(path, OPENCODE_PLUGIN_FILE);
  } catch {
    // not there yet: a file to write
  }
  return path;
}

const home = (): string => process.env.HOME || homedir();

/** The directories an agent keeps a project's settings in: the directory holding one is the project. */
const PROJECT_SETTINGS_DIRECTORIES = new Set(['.claude', '.gemini', '.opencode']);

/**
 * Why rtrack must not write the file named with --settings through its links (one line), or
 * undefined. A cloned repository can ship links: `.claude/settings.json -> ../../.docker/config.json`
 * would have rtrack edit (and back up) a file of the user's outside it, a dangling one create a file
 * wherever it points. So a link must lead to a file that exists, and, for a project's settings (in
 * `.claude`, `.gemini`, `.opencode`), one inside the project (the directory that holds that
 * directory). The user's own default file is not named with --settings: its links (into a dotfiles
 * repository) are followed as always.
 */
function settingsLinkProblem(path: string): string | undefined {
  const parts = path.split('/');
  let at = parts.length - 2;
  while (at > 0 && !PROJECT_SETTINGS_DIRECTORIES.has(parts[at]!)) at--;
  const project = at > 0 ? parts.slice(0, at).join('/') || '/' : undefined;
  let current = project ?? dirname(path);
  for (const part of relative(current, path).split('/')) {
    current = join(current, part);
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch {
      break; // not there: made in the directory that is
    }
    if (!stat.isSymbolicLink()) continue;
    try {
      statSync(current);
    } catch {
      return `${current} is a symbolic link to ${readlinkSync(current)}, which does not exist: rtrack would create a file wherever it points; nothing was written`;
    }
  }
  if (project === undefined) return undefined;
  let realProject: string;
  try {
    realProject = realpathSync(project);
  } catch {
    return undefined; // no project yet: nothing in it leads anywhere
  }
  const target = resolveTarget(path);
  if (target.startsWith(`${realProject}/`)) return undefined;
  return `${path} leads out of its project ${project} (to ${target}) through a symbolic link: a repository's link must not have rtrack change a file elsewhere; it was left unchanged`;
}

/** Refuses (usage error, exit 2) a --settings file whose links lead where rtrack must not write (settingsLinkProblem); not the default file. */
function checkSettingsLinks(path: string, named: string | undefined, defaultPath: string): void {
  if (named === undefined || path === defaultPath) return;
  const problem = settingsLinkProblem(path);
  if (problem) throw new UsageError(`hooks: ${problem}`);
}

/** The agent's user-level settings file (Claude Code: ~/.claude/settings.json; Gemini CLI: ~/.gemini/settings.json). */
function userSettings(agent: HookAgent): string {
  const { directory, userFile } = HOOK_AGENT_SETTINGS[agent];
  return join(home(), directory, userFile);
}

/** A settings file rtrack cannot use (a usage error, exit 2); `why` is what `hooks status` says of it. */
class UnusableSettings extends UsageError {
  constructor(
    message: string,
    readonly why: string,
  ) {
    super(message);
  }
}

/**
 * A key given twice in one object (`"hooks": {…}, "hooks": {…}`), with the lines of both; undefined
 * when there is none. jsonc-parser's edits change the first, the agents (JSON.parse) read the last:
 * uninstall would remove hooks of the user's and leave rtrack's, install would add hooks the agent
 * never sees.
 */
function duplicateKey(text: string): { key: string; lines: [number, number] } | undefined {
  const root = loadJsonc().parseTree(text, [], { disallowComments: false, allowTrailingComma: false });
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length;
  const walk = (node: import('jsonc-parser').Node): { key: string; lines: [number, number] } | undefined => {
    if (node.type === 'object') {
      const seen = new Map<string, number>();
      for (const property of node.children ?? []) {
        const key = property.children?.[0];
        if (key?.type !== 'string') continue;
        const first = seen.get(key.value as string);
        if (first !== undefined) return { key: key.value as string, lines: [lineOf(first), lineOf(key.offset)] };
        seen.set(key.value as string, key.offset);
      }
    }
    for (const child of node.children ?? []) {
      const found = walk(child);
      if (found) return found;
    }
    return undefined;
  };
  return root && walk(root);
}

/**
 * The settings in a file's text; `{}` for no file. Text that is not JSON (comments allowed where
 * the agent reads them), or that gives a key twice in one object, is a usage error: such a file is
 * never written.
 */
function parseSettings(path: string, text: string | undefined, comments: boolean): unknown {
  if (text === undefined || text.trim() === '') return {};
  const { parse, printParseErrorCode } = loadJsonc();
  const errors: import('jsonc-parser').ParseError[] = [];
  const settings: unknown = parse(text, errors, { disallowComments: !comments, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const before = text.slice(0, offset).split('\n');
    throw new UnusableSettings(`hooks: ${path} is not valid JSON (${printParseErrorCode(error)} at line ${before.length} column ${before.at(-1)!.length + 1}); it was left unchanged`, 'not valid JSON');
  }
  const duplicate = duplicateKey(text);
  if (duplicate) {
    const twice = `the key ${JSON.stringify(duplicate.key)} twice in one object (lines ${duplicate.lines.join(' and ')}): the agent reads only the last`;
    throw new UnusableSettings(`hooks: ${path} has ${twice}, an edit would change the first; remove one of them; it was left unchanged`, `not usable: ${twice}`);
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
function applySettingsEdits(path: string, text: string | undefined, edits: SettingsEdit[], comments: boolean): string {
  const jsonc = loadJsonc();
  const original = text === undefined || text.trim() === '' ? '{}\n' : text;
  const formatting = formattingOf(original);
  let next = original;
  for (const edit of edits) next = applyJsonTextEdit(jsonc, next, edit, formatting);
  // Every comment stays, but those inside rtrack's own hooks.
  const root = jsonc.parseTree(original, [], { disallowComments: false, allowTrailingComma: false });
  const found = root ? rtrackHooks(jsonc.getNodeValue(root)) : [];
  const ours = found.flatMap((h) => {
    // A group that holds only rtrack's hooks is rtrack's whole; in a user's group, only rtrack's hook is.
    const group = jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group]);
    const whole = found.filter((o) => o.event === h.event && o.group === h.group).length === jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group, 'hooks'])?.children?.length;
    const node = whole ? group : jsonc.findNodeAtLocation(root!, ['hooks', h.event, h.group, 'hooks', h.index]);
    return node ? [[node.offset, node.offset + node.length] as [number, number]] : [];
  });
  const lost = lostComments(jsonc, original, next, ours);
  if (lost.length > 0) throw new Error(`hooks: ${path}: editing the file would have lost a comment (${lost[0]!.slice(0, 60)}); it was left unchanged`);
  let same: boolean;
  try {
    same = isDeepStrictEqual(withoutRtrackHooks(parseSettings(path, next, comments)), withoutRtrackHooks(parseSettings(path, original, comments)));
  } catch {
    same = false;
  }
  if (!same) throw new Error(`hooks: ${path}: editing the file would have changed more than rtrack's hooks; it was left unchanged`);
  return next;
}

/** Changes the settings file safely (src/settings-file.ts); a failure is one line naming the file. */
function changeSettings(path: string, edit: (text: string | undefined) => string | undefined, options: ReplaceOptions = {}): ReplaceResult {
  try {
    return replaceFileText(path, edit, options);
  } catch (err) {
    if (err instanceof UsageError || (err as Error).message.startsWith('hooks: ')) throw err;
    if (err instanceof FileRefused) throw new UsageError(`hooks: ${err.message}`);
    throw new Error(`hooks: ${(err as Error).message}`);
  }
}

/** A rule's complaint about the settings (not an object, `hooks` not an object…) as a usage error naming the file. */
function planned(path: string, plan: () => SettingsEdit[]): SettingsEdit[] {
  try {
    return plan();
  } catch (err) {
    if (err instanceof UsageError) throw err; // the file's own (not valid JSON…): said already
    throw new UsageError(`hooks: ${path}: ${(err as Error).message}; it was left unchanged`);
  }
}

/** A settings file's (or config's) text, undefined when there is none; one that cannot be read (a FIFO, more than 1 MiB): a usage error. */
function readIfThere(path: string): string | undefined {
  const read = readSmallFile(path);
  if (read && 'problem' in read) throw new UsageError(`hooks: ${path}: ${read.problem}`);
  return read?.text;
}

/**
 * Why another user could put their own file at `path` (sharedEntryProblem: the file or a directory
 * above it is theirs, or writable by others; the one nearest the file), or undefined. Both ways to it are walked: as named
 * (a link on the way counts by its owner) and as its links resolve; a part that does not exist is
 * made only where the last one that does allows, so the walk ends there. Where there are no POSIX
 * owners (Windows), undefined.
 */
export function sharedPathProblem(path: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const named = resolve(path);
  for (const way of new Set([named, resolvedPath(named)])) {
    let current = '/';
    let nearest: string | undefined; // the problem nearest the file: the one to fix (a checkout's own directory rather than the /tmp it is in)
    for (const part of ['', ...way.split('/').filter((p) => p !== '')]) {
      current = join(current, part);
      let stat: Stats;
      try {
        stat = lstatSync(current);
      } catch {
        break;
      }
      nearest = sharedEntryProblem({ path: current, uid: stat.uid, mode: stat.mode, isSymbolicLink: stat.isSymbolicLink() }, uid) ?? nearest;
    }
    if (nearest) return nearest;
  }
  return undefined;
}

/** The path with the links of its longest existing part resolved (the rest as it is). */
function resolvedPath(path: string): string {
  for (let existing = path, rest = ''; ; rest = join(basename(existing), rest), existing = dirname(existing)) {
    try {
      return join(realpathSync(existing), rest);
    } catch {
      if (dirname(existing) === existing) return path;
    }
  }
}

/** What a hook (or the plugin) runs, by absolute path. */
type Runs = Pick<HookCommand, 'node' | 'bin' | 'config'>;

/** Each file the hooks run that another user could put in place (sharedPathProblem): `rtrack <bin>: <why>`. */
function sharedFiles(runs: Runs): string[] {
  const files: [string, string | undefined][] = [['rtrack', runs.bin], ['Node', runs.node], ['the config', runs.config]];
  return files.flatMap(([what, path]) => {
    const problem = path === undefined ? undefined : sharedPathProblem(path);
    return problem ? [`${what} ${path}: ${problem}`] : [];
  });
}

/**
 * `hooks install`: refuses (usage error, exit 2, before anything is written) hooks or a plugin that
 * would run a file another user could put in place — a checkout in /tmp, removed later, lets anyone
 * make that path and have the user's agent run their code as the user (root included) — unless
 * --allow-shared-path; with it, the line to print after installing, saying what is unsafe.
 */
function sharedNote(runs: Runs, options: HooksOptions, what: 'hooks' | 'plugin'): string | undefined {
  const shared = sharedFiles(runs);
  if (shared.length === 0) return undefined;
  if (options.allowSharedPath) return `rtrack: note: --allow-shared-path: the ${what} run files others could replace (${shared.join('; ')}); \`rtrack hooks status\` marks them unsafe`;
  throw new UsageError(
    `hooks: the ${what} would run files others could replace, and so have your agent run their code as you: ${shared.join('; ')}; install rtrack (and Node, the config) where only you and root can write, or give --allow-shared-path; nothing was written`,
  );
}

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

/**
 * The config the follower reads and whether it reaps, in words: the hooks' --config when they were
 * installed with one; else the per-user config file when it exists; else the defaults (reaping off).
 */
async function followerConfig(config: string | undefined): Promise<{ text: string; off: boolean }> {
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
    const { directory, projectFiles } = HOOK_AGENT_SETTINGS[agent];
    for (const path of new Set([userSettings(agent), ...projectFiles.map((f) => resolve(directory, f))])) {
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
  for (const path of new Set([opencodePluginPath(undefined), resolve('.opencode', OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE)])) {
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

export async function hooksInstall(name: string, options: HooksOptions): Promise<number> {
  const agent = hookAgent(name);
  const transient = transientInstallProblem(RTRACK_BIN);
  if (transient) throw new UsageError(`hooks: ${transient}`);
  const userConfig = userConfigPath();
  if (options.reap && options.config !== undefined) {
    throw new UsageError(`hooks: --reap turns reaping on in ${userConfig}, which the follower does not read when the hooks name --config ${options.config}: set sessions: reap: true under diagnostics.resource_tracking there instead`);
  }
  const config = options.config === undefined ? {} : { config: resolve(options.config) };
  if (config.config !== undefined) await loadConfigFile(config.config); // one that rtrack would read nothing from, or wrongly: exit 2
  const shared = sharedNote({ node: process.execPath, bin: RTRACK_BIN, ...config }, options, isPluginAgent(agent) ? 'plugin' : 'hooks');
  const code = isPluginAgent(agent) ? await installOpencodePlugin(options, config) : await installHooks(agent, options, config);
  if (shared) process.stdout.write(`${shared}\n`);
  return code;
}

/** `rtrack hooks install <agent>` for an agent that takes hooks (Claude Code, Gemini CLI). */
async function installHooks(agent: HookAgent, options: HooksOptions, config: { config?: string }): Promise<number> {
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
    process.stdout.write(next === undefined ? `rtrack: the ${agent} hooks are already installed in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    if (options.reap) dryRunReap();
    return 0;
  }
  if (options.reap) checkReapable(); // a config that is not valid, or that rtrack cannot write: exit 2 before anything is written
  const result = changeSettings(path, edit);
  if (!result.changed) process.stdout.write(`rtrack: the ${agent} hooks are already installed in ${path}\n`);
  else {
    const where = result.target === path ? path : `${path} (a link to ${result.target})`;
    process.stdout.write(`rtrack: ${had > 0 ? 'updated' : 'installed'} the ${agent} SessionStart and SessionEnd hooks in ${where}${result.backup ? `; the previous file is ${result.backup}` : ''}\n`);
  }
  forgetSaid(SAID_GONE); // a hook that finds rtrack gone again says so again
  const off = turnedOffNote(agent, [path, userSettings(agent)]);
  if (off) process.stdout.write(`${off}\n`);
  await reapingAfterInstall(agent, options, config);
  return 0;
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
function dryRunReap(): void {
  const text = reapedConfigText(readIfThere(userConfigPath()));
  process.stdout.write(text === undefined ? `rtrack: reaping is on already in ${userConfigPath()}\n` : `rtrack: dry run — ${userConfigPath()} would become:\n${text}`);
}

/** After installing: with --reap, reaping turned on in the per-user config; then which config the follower reads, and whether it reaps. */
async function reapingAfterInstall(agent: string, options: HooksOptions, config: { config?: string }): Promise<void> {
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
    if (written.changed) process.stdout.write(`rtrack: turned reaping on in ${userConfig}${written.backup ? `; the previous file is ${written.backup}` : ''}\n`);
  }
  const reaping = await followerConfig(config.config);
  process.stdout.write(`rtrack: ${reaping.text}${reaping.off && config.config === undefined ? `; \`rtrack hooks install ${agent} --reap\` turns it on` : ''}\n`);
}

/** The plugin file's text when it is rtrack's; a line saying why not otherwise (someone else's file of that name, an edited copy). */
function notOurPlugin(path: string, text: string): string | undefined {
  return parseOpencodePlugin(text) === undefined ? `${path} is not rtrack's plugin (a file of that name that rtrack did not write, or an edited copy); it was left unchanged` : undefined;
}

/**
 * `rtrack hooks install opencode`: rtrack's plugin file in opencode's plugin directory, written the
 * safe way (src/settings-file.ts) — no backup of a previous version of rtrack's own file, and a
 * file of that name that is not rtrack's is refused (one line, exit 2, unchanged).
 */
async function installOpencodePlugin(options: HooksOptions, config: { config?: string }): Promise<number> {
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
    process.stdout.write(next === undefined ? `rtrack: the opencode plugin is already installed at ${path}\n` : `rtrack: dry run — ${path} would be written:\n${next}`);
    if (options.reap) dryRunReap();
    return 0;
  }
  if (options.reap) checkReapable(); // a config that is not valid, or that rtrack cannot write: exit 2 before anything is written
  const result = changeSettings(path, edit, { backup: false });
  if (!result.changed) process.stdout.write(`rtrack: the opencode plugin is already installed at ${path}\n`);
  else {
    const where = result.target === path ? path : `${path} (a link to ${result.target})`;
    process.stdout.write(`rtrack: ${had ? 'updated' : 'installed'} the opencode plugin at ${where}: opencode loads it at its next start\n`);
  }
  await reapingAfterInstall('opencode', options, config);
  return 0;
}

/**
 * `rtrack hooks uninstall opencode`: removes rtrack's plugin file, recognised exactly; anything else
 * of that name stays. A symbolic link to it (from a dotfiles repository) goes with it: the file it
 * points to, which rtrack wrote, is removed, then the link — not the link alone, which would leave
 * rtrack's plugin in the dotfiles, to come back with the next link made to it.
 */
function uninstallOpencodePlugin(options: HooksOptions): number {
  const path = opencodePluginPath(options.settings);
  checkSettingsLinks(path, options.settings, opencodePluginPath(undefined));
  const target = resolveTarget(path);
  const text = readIfThere(target);
  if (text === undefined) {
    process.stdout.write(`rtrack: no rtrack plugin at ${path}\n`);
    return 0;
  }
  const foreign = notOurPlugin(target, text);
  if (foreign) {
    process.stdout.write(`rtrack: ${foreign}\n`);
    return 0;
  }
  let linked = false;
  try {
    linked = target !== path && lstatSync(path).isSymbolicLink();
  } catch {
    // the file alone
  }
  const what = `${target}${linked ? ` and the link ${path} to it` : ''}`;
  if (options.dryRun) {
    process.stdout.write(`rtrack: dry run — ${what} would be removed\n`);
    return 0;
  }
  for (const file of linked ? [target, path] : [target]) {
    try {
      unlinkSync(file);
    } catch (err) {
      throw new Error(`hooks: cannot remove ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  process.stdout.write(`rtrack: removed rtrack's opencode plugin ${what}; opencode runs without it from its next start\n`);
  return 0;
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

export async function hooksUninstall(name: string, options: HooksOptions): Promise<number> {
  const agent = hookAgent(name);
  if (isPluginAgent(agent)) return uninstallOpencodePlugin(options);
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
    process.stdout.write(next === undefined ? `rtrack: no rtrack hooks in ${path}\n` : `rtrack: dry run — ${path} would become:\n${next}${next.endsWith('\n') ? '' : '\n'}`);
    return 0;
  }
  const result = changeSettings(path, edit, { backup: !options.noBackup });
  if (!result.changed) {
    process.stdout.write(`rtrack: no rtrack hooks in ${path}\n`);
    return 0;
  }
  process.stdout.write(`rtrack: removed rtrack's hooks from ${path}${result.backup ? `; the previous file is ${result.backup}` : ''}\n`);
  return 0;
}

/**
 * For `rtrack uninstall`: each agent's hook files — the user's (each agent's user settings,
 * opencode's plugin) and this project's — with rtrack's hooks in each: how many (a plugin is one),
 * or why the file cannot be read. Files that do not exist are left out.
 */
export function hookFiles(): { agent: HookAgent | PluginAgent; path: string; project: boolean; hooks: number | string }[] {
  const files: { agent: HookAgent | PluginAgent; path: string; project: boolean; hooks: number | string }[] = [];
  for (const agent of HOOK_AGENTS) {
    const { directory, projectFiles, comments } = HOOK_AGENT_SETTINGS[agent];
    for (const path of new Set([userSettings(agent), ...projectFiles.map((f) => resolve(directory, f))])) {
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
  for (const path of new Set([opencodePluginPath(undefined), resolve('.opencode', OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE)])) {
    const read = readSmallFile(path);
    if (read === undefined) continue;
    files.push({ agent: 'opencode', path, project: path !== opencodePluginPath(undefined), hooks: 'problem' in read ? read.problem : parseOpencodePlugin(read.text) ? 1 : 0 });
  }
  return files;
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

export async function hooksStatus(options: HooksOptions): Promise<number> {
  const shown = new Set<string>();
  const lines: string[] = [];
  if (options.settings !== undefined) {
    const path = resolve(options.settings);
    shown.add(path);
    lines.push(`${path}: ${await statusOf(path, undefined)}`);
  }
  for (const agent of HOOK_AGENTS) {
    const { directory, projectFiles } = HOOK_AGENT_SETTINGS[agent];
    lines.push(`${agentWithAlias(agent)}:`);
    for (const path of [userSettings(agent), ...projectFiles.map((f) => resolve(directory, f))]) {
      if (shown.has(path)) continue;
      shown.add(path);
      lines.push(`  ${path}: ${await statusOf(path, agent)}`);
    }
  }
  lines.push('opencode (its plugin):');
  for (const path of [opencodePluginPath(undefined), resolve('.opencode', OPENCODE_PLUGIN_DIRECTORY, OPENCODE_PLUGIN_FILE)]) {
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
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
