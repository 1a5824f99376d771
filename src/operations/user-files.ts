// Where each user's rtrack files are, as a system-wide watch finds them, and what each user's own
// config keeps. A user's rtrack keeps its state in `$XDG_STATE_HOME/rtrack` and reads its config
// from `$XDG_CONFIG_HOME/rtrack/config.yaml` (files.ts stateDirectory, config.ts userConfigPath):
// under the home /etc/passwd names by default, and wherever the environments of that user's
// processes say — their HOME, XDG_STATE_HOME and XDG_CONFIG_HOME, read once, when a process is first
// seen (ProcessInfo.userDirectories). What an environment names is read as that user's only: a
// state directory must be theirs alone and what it attributes, it attributes to their processes
// alone (table-look.ts); their config keeps their processes alone. So what their processes name
// can only keep more of their own processes. A config is read again only when its stat changes; one
// that cannot be read or used withholds the reaping of its user's processes, as an unreadable state
// directory does: what it keeps is not guessed.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, userConfigPath } from '../config.js';
import { stateDirectory, type UserState } from '../files.js';
import { ownersKeepRules, type ConfigKeeping, type KeepRules } from '../rules/keep.js';
import type { PasswdUser } from '../rules/watch-scope.js';
import type { UserDirectories } from '../types.js';

/** At most this many state directories, and config files, one user's processes may name; past it that user's processes are not reaped (each is looked at every scan). */
export const NAMED_MAX = 64;
/** A config file larger than this is not read (a config is a few lines). */
const CONFIG_MAX_BYTES = 1 << 20;

/** What a system-wide watch knows of each user's files between scans. */
export interface UserFiles {
  /** Per uid: its live processes, and the directories they name. */
  readonly byUid: Map<number, UserEntry>;
  /** Each config file read, by uid and path: its stat when read, and what it said. */
  readonly configs: Map<string, ConfigRead>;
  /** Per uid: what its configs keep beyond the watch's own rules, and from which reads (the same object while nothing changed: verdicts are cached against it). */
  readonly keeps: Map<number, { from: string; rules: KeepRules | undefined }>;
}

interface UserEntry {
  processes: number;
  /** The sets of directories its live processes name, by their values, with how many name each. */
  named: Map<string, { directories: UserDirectories; count: number }>;
  /** Where its files may be (host paths), for the home it was made with; undefined once `named` changed. */
  paths?: { home: string | undefined; states: string[]; configs: string[] };
}

interface ConfigRead {
  stamp: string;
  result: ConfigKeeping | { problem: string };
}

export function createUserFiles(): UserFiles {
  return { byUid: new Map(), configs: new Map(), keeps: new Map() };
}

const keyOf = (d: UserDirectories): string => `${d.home ?? ''}\0${d.stateHome ?? ''}\0${d.configHome ?? ''}`;

/** A process of `uid` first seen (`delta` 1) or gone (-1), with the directories its environment names. */
export function noteUserProcess(files: UserFiles, uid: number, directories: UserDirectories | undefined, delta: 1 | -1): void {
  let entry = files.byUid.get(uid);
  if (!entry) files.byUid.set(uid, (entry = { processes: 0, named: new Map() }));
  entry.processes += delta;
  if (directories) {
    const key = keyOf(directories);
    const named = entry.named.get(key);
    if (named) named.count += delta;
    else if (delta > 0) entry.named.set(key, { directories, count: 1 });
    if (!named || named.count <= 0) {
      if (named) entry.named.delete(key);
      entry.paths = undefined;
    }
  }
  if (entry.processes <= 0 && entry.named.size === 0) files.byUid.delete(uid);
}

/**
 * Where a user's rtrack state and config may be, as host paths: under the home of /etc/passwd, and
 * under what each of their processes' environments names, as their own rtrack reads it. A relative
 * HOME names nothing that can be found.
 */
export function userFilePaths(hostRoot: string, home: string | undefined, named: Iterable<UserDirectories>): { states: string[]; configs: string[] } {
  const states = new Set<string>();
  const configs = new Set<string>();
  for (const d of [{}, ...named] as UserDirectories[]) {
    const own = d.home?.startsWith('/') ? d.home : home;
    // Each the user's rtrack would use: the variable when absolute, else under HOME.
    if (d.stateHome?.startsWith('/') || own) states.add(join(hostRoot, stateDirectory({ HOME: own ?? '/', XDG_STATE_HOME: d.stateHome })));
    if (d.configHome?.startsWith('/') || own) configs.add(join(hostRoot, userConfigPath({ HOME: own ?? '/', XDG_CONFIG_HOME: d.configHome })));
  }
  return { states: [...states], configs: [...configs] };
}

/** What a system-wide scan reads of the users' files (readUserFiles). */
export interface UserFilesOptions {
  hostRoot: string;
  /** The users of the host's /etc/passwd. */
  passwd: ReadonlyMap<number, PasswdUser>;
  /** The watch's own state directory: read as its own, first. */
  ownState?: string;
  /** The watch's own user, and its config file: that user's config is the watch's, whose rules apply to every process already; that file is not read again. */
  self?: number;
  ownConfig?: string;
  /** Whether the watch keeps the shared daemons itself (its config's keepSharedDaemons). */
  ownSharedDaemons: boolean;
  /** Whether the watch may read others' state (CAP_DAC_READ_SEARCH): said when it cannot. */
  readsOthersState?: boolean;
}

/** What a scan found of the users' files. */
export interface UsersFiles {
  /** The state directories to read: the watch's own, then each user's that exists. */
  states: UserState[];
  /** Users whose processes may not be reaped, with why: a state directory or a config that cannot be read or used, too many of them named. */
  withheld: Map<number, string>;
  /** Per uid: what its own configs keep beyond the watch's rules (only users for whom they keep more). */
  keeps: Map<number, KeepRules>;
}

/**
 * Each user's files for one scan: the state directories that exist (each user of /etc/passwd's
 * under their home; each user's with processes, also where their processes name), and what the
 * configs of the users with processes keep.
 */
export function readUserFiles(files: UserFiles, options: UserFilesOptions): UsersFiles {
  const { hostRoot, passwd } = options;
  const found: UserState[] = options.ownState ? [{ path: options.ownState }] : [];
  const withheld = new Map<number, string>();
  const keeps = new Map<number, KeepRules>();
  const label = (uid: number): string => passwd.get(uid)?.name ?? `uid ${uid}`;
  const used = new Set<string>();
  for (const user of passwd.values()) if (!files.byUid.has(user.uid)) addState(found, withheld, join(hostRoot, user.home, '.local', 'state', 'rtrack'), user.uid, label, options);
  for (const [uid, entry] of files.byUid) {
    const home = passwd.get(uid)?.home;
    if (!entry.paths || entry.paths.home !== home) entry.paths = { home, ...userFilePaths(hostRoot, home, [...entry.named.values()].map((n) => n.directories)) };
    const { states, configs } = entry.paths;
    if (states.length > NAMED_MAX || configs.length > NAMED_MAX) {
      withheld.set(uid, `${label(uid)}'s processes name ${Math.max(states.length, configs.length)} places for rtrack's state or config (HOME, XDG_STATE_HOME, XDG_CONFIG_HOME), more than ${NAMED_MAX}: not all are read`);
      continue;
    }
    for (const path of states) addState(found, withheld, path, uid, label, options);
    if (entry.processes <= 0) continue;
    const rules = configRules(files, uid, configs, options, used);
    if ('problem' in rules) withheld.set(uid, `${label(uid)}'s ${rules.problem}`);
    else if (rules.keeps) keeps.set(uid, rules.keeps);
  }
  for (const key of files.configs.keys()) if (!used.has(key)) files.configs.delete(key);
  for (const uid of files.keeps.keys()) if (!files.byUid.has(uid)) files.keeps.delete(uid);
  return { states: found, withheld, keeps };
}

/** A user's state directory, when it exists and can be listed; when it exists and cannot, the user is withheld. */
function addState(found: UserState[], withheld: Map<number, string>, path: string, uid: number, label: (uid: number) => string, options: UserFilesOptions): void {
  if (found.some((s) => s.path === path && (s.uid === uid || s.uid === undefined))) return;
  try {
    // Most users have none: asked without an exception (a thrown one costs tens of µs, every scan).
    if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return; // nothing of rtrack's there
    readdirSync(path);
    found.push({ path, uid });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    withheld.set(uid, `${label(uid)}'s rtrack state (${path}) cannot be read: ${code}${options.readsOthersState === false ? ' (give the watch CAP_DAC_READ_SEARCH)' : ''}`);
  }
}

/** What a user's configs keep beyond the watch's rules (undefined: nothing more), or why they cannot be used. */
function configRules(files: UserFiles, uid: number, paths: readonly string[], options: UserFilesOptions, used: Set<string>): { keeps: KeepRules | undefined } | { problem: string } {
  // The watch's own config is its user's: its rules are applied to every process already.
  const configs: (ConfigKeeping | undefined)[] = uid === options.self ? [{ keep: [], keepSharedDaemons: options.ownSharedDaemons }] : [];
  let from = `${options.ownSharedDaemons}`;
  for (const path of paths) {
    if (path === options.ownConfig) continue;
    const key = `${uid}\0${path}`;
    used.add(key);
    let stat: Stats | undefined;
    try {
      stat = statSync(path, { throwIfNoEntry: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR') return { problem: `rtrack config (${path}) cannot be used: ${code}${code === 'EACCES' && options.readsOthersState === false ? ' (give the watch CAP_DAC_READ_SEARCH)' : ''}` };
    }
    if (!stat) {
      configs.push(undefined); // none there: the defaults
      from += `\0${path}\0-`;
      continue;
    }
    const stamp = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    let read = files.configs.get(key);
    if (read?.stamp !== stamp) files.configs.set(key, (read = { stamp, result: readConfigAt(path, stat, uid) }));
    if ('problem' in read.result) return { problem: `rtrack config (${path}) cannot be used: ${read.result.problem}` };
    configs.push(read.result);
    from += `\0${path}\0${stamp}`;
  }
  const known = files.keeps.get(uid);
  if (known?.from === from) return { keeps: known.rules };
  const rules = ownersKeepRules(configs, { sharedDaemons: options.ownSharedDaemons });
  files.keeps.set(uid, { from, rules });
  return { keeps: rules };
}

/**
 * A user's config file, read as root reads a file its user may have put anywhere: only a regular
 * file (never a device, nor a FIFO that would hold the watch), owned by that user or root, of at
 * most 1 MiB. Why it cannot be used says nothing of what it holds: it may be a file of root's.
 */
function readConfigAt(path: string, stat: Stats, uid: number): ConfigKeeping | { problem: string } {
  if (!stat.isFile()) return { problem: 'not a regular file' };
  if (stat.uid !== uid && stat.uid !== 0) return { problem: `owned by uid ${stat.uid}, not by its user` };
  if (stat.size > CONFIG_MAX_BYTES) return { problem: 'larger than 1 MiB' };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { problem: `${(err as NodeJS.ErrnoException).code ?? 'cannot be opened'}` };
  }
  try {
    const opened = fstatSync(fd);
    if (opened.dev !== stat.dev || opened.ino !== stat.ino) return { problem: 'it changed while it was read' };
    const buffer = Buffer.alloc(Math.min(stat.size, CONFIG_MAX_BYTES) + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, length);
    if (length > stat.size) return { problem: 'it changed while it was read' };
    const config = parseConfig(buffer.toString('utf8', 0, length), path);
    return { keep: config.keep, keepSharedDaemons: config.keepSharedDaemons };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code ? code : `not a valid config (\`rtrack scan\` run as its user says why)` };
  } finally {
    closeSync(fd);
  }
}
