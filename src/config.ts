// Configuration: the seed's YAML layout (diagnostics.resource_tracking.*) and the library's
// ResourceTrackerConfig, checked by one table of fields. Errors name the file (or `config`) and the
// key, on one line. Hand-written for this small schema: a validation library cost more to load
// than the rest of `rtrack run` together (see BENCHMARKS.md).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { compileKeepPatterns } from './rules/patterns.js';
import { DEFAULT_CONFIG, type ResourceTrackerConfig } from './types.js';

type Check = (value: unknown) => string | undefined;

const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'expected a boolean (true or false)');
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'expected a number of 0 or more');
const intervalMs: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 10 && v <= 60_000 ? undefined : 'expected a whole number of milliseconds from 10 to 60000');
const agentName = /^[a-z0-9][a-z0-9._-]*$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `agents:` entries, under either naming (YAML: session_env, pid_env; library: sessionVar, pidVar). */
function agentList(naming: 'key' | 'yaml'): Check {
  const session = naming === 'yaml' ? 'session_env' : 'sessionVar';
  const pid = naming === 'yaml' ? 'pid_env' : 'pidVar';
  return (v) => {
    if (!Array.isArray(v)) return 'expected a list of agents ({ name, ' + session + ', ' + pid + ', process })';
    for (const [i, entry] of v.entries()) {
      if (!isMapping(entry)) return `[${i}]: expected { name, ${session}, ${pid}, process }`;
      const unknown = Object.keys(entry).filter((k) => !['name', session, pid, 'process'].includes(k));
      if (unknown.length > 0) return `[${i}]: unknown key ${unknown.join(', ')}`;
      if (typeof entry.name !== 'string' || !agentName.test(entry.name)) return `[${i}].name: expected a short name (letters, digits, . _ -)`;
      if (typeof entry[session] !== 'string' || !envName.test(entry[session] as string)) return `[${i}].${session}: expected an environment variable name`;
      if (entry[pid] !== undefined && (typeof entry[pid] !== 'string' || !envName.test(entry[pid] as string))) return `[${i}].${pid}: expected an environment variable name`;
      if (typeof entry.process !== 'string') return `[${i}].process: expected a regular expression`;
      try {
        new RegExp(entry.process);
      } catch (err) {
        return `[${i}].process: invalid regular expression: ${(err as Error).message}`;
      }
    }
    return undefined;
  };
}
/** `sessions:` (YAML: reap, linger_ms; library: reap, lingerMs). */
function sessionsSettings(naming: 'key' | 'yaml'): Check {
  const linger = naming === 'yaml' ? 'linger_ms' : 'lingerMs';
  return (v) => {
    if (!isMapping(v)) return `expected { reap, ${linger} }`;
    const unknown = Object.keys(v).filter((k) => k !== 'reap' && k !== linger);
    if (unknown.length > 0) return `.${unknown[0]}: unknown key`;
    if (v.reap !== undefined && typeof v.reap !== 'boolean') return '.reap: expected a boolean (true or false)';
    const ms = v[linger];
    if (ms !== undefined && !(typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms <= 600_000)) return `.${linger}: expected a whole number of milliseconds from 0 to 600000`;
    return undefined;
  };
}
const stringList: Check = (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? undefined : 'expected a list of regular expressions (strings)');

/** Every setting: its name in ResourceTrackerConfig, in the YAML file, and what it must be. */
const FIELDS: readonly { key: keyof ResourceTrackerConfig; yaml: string; check: Check; yamlCheck?: Check }[] = [
  { key: 'enabled', yaml: 'enabled', check: boolean },
  { key: 'memoryThresholdMB', yaml: 'memory_threshold_mb', check: nonNegative },
  { key: 'logOrphanedMCPOnly', yaml: 'log_orphaned_mcp_only', check: boolean },
  { key: 'keep', yaml: 'keep', check: stringList },
  { key: 'lineageIntervalMs', yaml: 'lineage_interval_ms', check: intervalMs },
  { key: 'keepSharedDaemons', yaml: 'keep_shared_daemons', check: boolean },
  { key: 'agents', yaml: 'agents', check: agentList('key'), yamlCheck: agentList('yaml') },
  { key: 'sessions', yaml: 'sessions', check: sessionsSettings('key'), yamlCheck: sessionsSettings('yaml') },
  { key: 'cgroup', yaml: 'cgroup', check: (v) => (v === 'auto' || v === 'required' || v === 'off' ? undefined : 'expected auto, required or off') },
  { key: 'taskMemoryThresholdMB', yaml: 'task_memory_threshold_mb', check: nonNegative },
];

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks settings given under either naming, fills in the defaults, and compiles the keep patterns.
 * `path` is how the settings are named in errors (`diagnostics.resource_tracking`, or nothing).
 */
function checkSettings(values: Record<string, unknown>, naming: 'key' | 'yaml', source: string, path: string): ResourceTrackerConfig {
  const at = (name: string): string => (path ? `${path}.${name}` : name);
  const known = new Set(FIELDS.map((f) => f[naming]));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ConfigError(`${source}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map(at).join(', ')}`);
  const config: ResourceTrackerConfig = { ...DEFAULT_CONFIG, keep: [...DEFAULT_CONFIG.keep], agents: [], sessions: { ...DEFAULT_CONFIG.sessions } };
  for (const field of FIELDS) {
    const value = values[field[naming]];
    if (value === undefined) continue;
    const problem = (naming === 'yaml' ? (field.yamlCheck ?? field.check) : field.check)(value);
    if (problem) throw new ConfigError(`${source}: ${at(field[naming])}${problem.startsWith('[') || problem.startsWith('.') ? '' : ': '}${problem}`);
    (config as unknown as Record<string, unknown>)[field.key] = Array.isArray(value) ? [...value] : value;
  }
  if (values.sessions !== undefined) {
    const s = values.sessions as Record<string, unknown>;
    const lingerMs = (naming === 'yaml' ? s.linger_ms : s.lingerMs) as number | undefined;
    config.sessions = { reap: (s.reap as boolean | undefined) ?? DEFAULT_CONFIG.sessions.reap, lingerMs: lingerMs ?? DEFAULT_CONFIG.sessions.lingerMs };
  }
  if (naming === 'yaml' && values.agents !== undefined) {
    config.agents = (values.agents as Record<string, string>[]).map((a) => ({ name: a.name!, sessionVar: a.session_env!, ...(a.pid_env ? { pidVar: a.pid_env } : {}), process: a.process! }));
  }
  try {
    compileKeepPatterns(config.keep, `${source}: ${at('keep')}`);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return config;
}

/**
 * Checks a configuration object as `new ResourceTracker(config)` receives it: known keys only, each
 * of the right type; missing keys take the defaults. Throws a ConfigError naming the key.
 */
export function validateConfig(config: Partial<ResourceTrackerConfig> | undefined, source = 'config'): ResourceTrackerConfig {
  if (config === undefined || config === null) return checkSettings({}, 'key', source, '');
  if (!isMapping(config)) throw new ConfigError(`${source}: expected an object of settings`);
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  return checkSettings(defined, 'key', source, '');
}

/** The YAML parser, loaded the first time a file is parsed: `rtrack run` without a config file never pays for it. */
let yaml: typeof import('yaml') | undefined;
const loadYaml = (): typeof import('yaml') => (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/** Parses a config file's text (the seed's YAML layout); `source` names the file in errors. */
export function parseConfig(text: string, source: string): ResourceTrackerConfig {
  // Warnings (an unknown tag, say) are errors too: a config must mean exactly what it says.
  const document = loadYaml().parseDocument(text);
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new ConfigError(`${source}: invalid YAML: ${problem.message.split('\n')[0]}`);
  let data: unknown;
  try {
    data = document.toJS();
  } catch (err) {
    throw new ConfigError(`${source}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return checkSettings({}, 'yaml', source, '');
  if (!isMapping(data)) throw new ConfigError(`${source}: (top level): expected a mapping of keys`);
  const diagnostics = data.diagnostics;
  if (diagnostics === null || diagnostics === undefined) return checkSettings({}, 'yaml', source, '');
  if (!isMapping(diagnostics)) throw new ConfigError(`${source}: diagnostics: expected a mapping of keys`);
  const section = diagnostics.resource_tracking;
  if (section === null || section === undefined) return checkSettings({}, 'yaml', source, '');
  if (!isMapping(section)) throw new ConfigError(`${source}: diagnostics.resource_tracking: expected a mapping of keys`);
  return checkSettings(section, 'yaml', source, 'diagnostics.resource_tracking');
}

/** A config file's text; a file that cannot be read is a ConfigError naming it. */
async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError(`${path}: cannot read config: ${why}`);
  }
}

/** Reads the YAML config; without a path, the defaults (and the YAML parser is never loaded). A missing explicit file is an error. */
export async function loadConfig(path?: string): Promise<ResourceTrackerConfig> {
  if (path === undefined) return { ...DEFAULT_CONFIG, keep: [...DEFAULT_CONFIG.keep], agents: [], sessions: { ...DEFAULT_CONFIG.sessions } };
  return parseConfig(await readConfigText(path), path);
}

/**
 * Why rtrack reads nothing from a config file's data (one line, after `source: `), or undefined
 * when it has a diagnostics.resource_tracking section. A file whose settings are at the top level
 * (`sessions: …`, `resource_tracking: …`) or directly under `diagnostics` is the usual mistake:
 * rtrack, reading only diagnostics.resource_tracking, would silently use the defaults.
 */
function readsNothing(data: unknown): string | undefined {
  const diagnostics = isMapping(data) ? data.diagnostics : undefined;
  if (isMapping(diagnostics) && isMapping(diagnostics.resource_tracking)) return undefined;
  const names = new Set([...FIELDS.map((f) => f.yaml), 'resource_tracking']);
  const misplaced = [
    ...(isMapping(data) ? Object.keys(data).filter((k) => names.has(k)).map((k) => `${k} is at the top level`) : []),
    ...(isMapping(diagnostics) ? Object.keys(diagnostics).filter((k) => names.has(k) && k !== 'resource_tracking').map((k) => `diagnostics.${k} is one level too high`) : []),
  ];
  return `rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking${misplaced.length > 0 ? ` (${misplaced.join(', ')})` : ''}`;
}

/**
 * Parses a config file that was named to be used (`--config`): like parseConfig, and a file from
 * which rtrack would read nothing (no diagnostics.resource_tracking section) is an error too.
 */
export function parseConfigFile(text: string, source: string): ResourceTrackerConfig {
  const config = parseConfig(text, source);
  const problem = readsNothing(loadYaml().parse(text));
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  return config;
}

/** Reads a config file that was named to be used (`--config`): see parseConfigFile. */
export async function loadConfigFile(path: string): Promise<ResourceTrackerConfig> {
  return parseConfigFile(await readConfigText(path), path);
}

/**
 * The per-user config file: `$XDG_CONFIG_HOME/rtrack/config.yaml`, else
 * `~/.config/rtrack/config.yaml`. What the session follower and the machine-wide commands read
 * when no --config is given, and what `rtrack hooks install --reap` writes.
 */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config'), 'rtrack', 'config.yaml');
}

const REAP_PATH = ['diagnostics', 'resource_tracking', 'sessions', 'reap'];

/**
 * A config file's text with diagnostics.resource_tracking.sessions.reap set to true, edited with
 * the YAML parser's Document API: comments, other keys and their order are kept (the file's
 * indentation and CRLF line ends too; spacing inside a line may be normalized). Undefined when
 * reaping is on already.
 * The text of a new file when there is none. A file that is not a valid config is a ConfigError,
 * never changed.
 */
export function configTextWithReap(text: string | undefined, source: string): string | undefined {
  if (text === undefined || text.trim() === '') {
    return `# rtrack's settings for this user (see "Configuration" in rtrack's README)\ndiagnostics:\n  resource_tracking:\n    sessions:\n      reap: true   # reap what an agent session that is over left running\n`;
  }
  if (parseConfig(text, source).sessions.reap) return undefined;
  const { parseDocument, isCollection, isScalar } = loadYaml();
  const document = parseDocument(text);
  for (let depth = 1; depth < REAP_PATH.length; depth++) {
    const node: unknown = document.getIn(REAP_PATH.slice(0, depth), true);
    if (isScalar(node) && node.value === null) document.setIn(REAP_PATH.slice(0, depth), document.createNode({})); // `diagnostics:` with nothing under it
    else if (node !== undefined && !isCollection(node)) throw new ConfigError(`${source}: ${REAP_PATH.slice(0, depth).join('.')}: expected a mapping of keys`);
  }
  document.setIn(REAP_PATH, true);
  const indent = /\n( +)\S/.exec(text)?.[1]?.length ?? 2;
  const printed = document.toString({ lineWidth: 0, indent, flowCollectionPadding: !/[[{][^\s\]}]/.test(text) });
  const next = text.includes('\r\n') ? printed.replace(/\r?\n/g, '\r\n') : printed; // the YAML printer writes LF: a CRLF file keeps its line ends
  if (!parseConfig(next, source).sessions.reap) throw new ConfigError(`${source}: could not turn reaping on in this file`);
  return next;
}

/** The config file `rtrack run` reads from the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'resource-tracker.yaml';

/**
 * Whose config a command reads when `--config` is not given. `run` (a task in this directory)
 * reads ./resource-tracker.yaml, as the seed does. The machine-wide commands — scan, watch,
 * sessions and the session follower, whose `keep` and `agents` decide what may be killed anywhere
 * on the machine — read only the user's own (`userConfigPath()`): never one from the working
 * directory, which a cloned repository could supply.
 */
export type ConfigScope = 'run' | 'machine';

/** The file a command of this scope reads when `--config` is not given (it may not exist). */
export function defaultConfigPath(scope: ConfigScope, env: NodeJS.ProcessEnv = process.env): string {
  return scope === 'run' ? DEFAULT_CONFIG_FILE : userConfigPath(env);
}

/**
 * The CLI's config: `--config <file>` (a file rtrack reads nothing from is an error); else the
 * scope's default file when it exists (one warning when rtrack reads nothing from it); else the
 * defaults.
 */
export async function resolveConfig(
  configPath: string | undefined,
  scope: ConfigScope = 'run',
  warn: (line: string) => void = (line) => process.stderr.write(`rtrack: warning: ${line}\n`),
): Promise<ResourceTrackerConfig> {
  if (configPath !== undefined) return loadConfigFile(configPath);
  const path = defaultConfigPath(scope);
  if (!existsSync(path)) return loadConfig();
  const text = await readConfigText(path);
  const config = parseConfig(text, path);
  const problem = text.trim() === '' ? undefined : readsNothing(loadYaml().parse(text));
  if (problem) warn(`${path}: ${problem}`);
  return config;
}
