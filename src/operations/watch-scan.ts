// One `rtrack watch` scan: scanMachine over the whole table, then each user's figures — every user's
// in a system-wide watch, its own user's alone in a per-user one — so that summed over a machine's
// watches nothing counts twice. A system-wide watch reads every user's state directory (their hook
// registrations, journal, what their runs kept), or it would take a live session's processes for
// leaks, and judges each user's processes by that user's own config too (what it keeps): both where
// that user's rtrack has them, under their home or where their processes' environments say
// (user-files.ts).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { UserState } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { readPasswd } from '../platform/users.js';
import { keepReasonOf, type KeepRules } from '../rules/keep.js';
import { fullCommand } from '../rules/patterns.js';
import { figuresByUser, isInitialPidNamespace, userLabel, type PasswdUser, type WatchScope } from '../rules/watch-scope.js';
import type { AgentConfig, ProcessInfo, ProcessSnapshot, UserDirectories } from '../types.js';
import type { WatchScanReport } from './prometheus.js';
import { scanMachine, type ScanOptions } from './scan-machine.js';
import type { UsersOfLook, UsersOfTable } from './table-look.js';
import { createUserFiles, noteUserProcess, readUserFiles, type UserFiles } from './user-files.js';

/** What decides what counts: the config's, changed by SIGHUP. */
export interface WatchRules {
  keep: readonly string[];
  keepSharedDaemons?: boolean;
  agents?: readonly AgentConfig[];
}

/** Options of `createWatchScanner()`. */
export interface WatchScannerOptions {
  scope: WatchScope;
  rules: WatchRules;
  all?: boolean;
  /** Keep each process's stat descriptor open between scans (intervals under 15 s). */
  keepOpen?: boolean;
  /** The watch's own state directory (default `$XDG_STATE_HOME/rtrack`). */
  state?: string;
  /** The watch's own config file: its rules are its user's, and that file is not read again as theirs. */
  config?: string;
  /** Where the host's root filesystem is: its /etc/passwd and the users' homes (`/`; a container mounts the host's elsewhere). */
  hostRoot?: string;
  /** Whether this process may read the users' state directories (root, CAP_DAC_READ_SEARCH); a system-wide watch says when it cannot. */
  readsOthersState?: boolean;
  cpuSampleMs?: number;
  reader?: PlatformReader;
}

/** A watch's scanner: `scan()` at each interval, `setRules()` on SIGHUP; `states()`: what the reaper's gate reads too. */
export interface WatchScanner {
  scan(): Promise<WatchScanReport>;
  setRules(rules: WatchRules): void;
  /** The state directories the last scan read (every user's in a system-wide watch), for the reaper's gate. */
  states(): UserState[];
  /** What the users' files said to the last scan (their state directories, what their configs keep), for the reaper's gate (ReapOptions.userFiles); undefined in a per-user watch. */
  readonly userFiles: UsersOfLook | undefined;
  /** Whether the watch sees the host's PID namespace (undefined: cannot tell), read once. */
  readonly hostPidNamespace: boolean | undefined;
}

export function createWatchScanner(options: WatchScannerOptions): WatchScanner {
  const reader = options.reader ?? platformReader();
  const scanner: Scanner = {
    options,
    reader,
    hostRoot: options.hostRoot ?? '/',
    self: process.geteuid?.(),
    rules: options.rules,
    cache: {},
    owners: new Map(),
    round: 0,
    passwd: undefined,
    states: options.state ? [{ path: options.state }] : [],
    files: createUserFiles(),
    withheld: new Map(),
    keeps: new Map(),
  };

  let namespace: string | undefined;
  try {
    namespace = reader.readPidNamespaceId?.(process.pid);
  } catch {
    namespace = undefined;
  }
  const hostPidNamespace = isInitialPidNamespace(namespace);
  const blind = hostPidNamespace === false ? `this watch runs in a PID namespace that is not the host's (${namespace}): it sees only that namespace's processes, and reports nothing of the rest of the machine (give a container hostPID: true)` : undefined;

  return {
    hostPidNamespace,
    setRules(next) {
      scanner.rules = next;
      // What the cache carries was judged by the old rules (keep reasons, agents' markers): read all again.
      delete scanner.cache.previous;
      delete scanner.cache.costs;
    },
    states: () => scanner.states,
    userFiles: options.scope === 'system' ? { read: () => tableUsers(scanner) } : undefined,
    scan: () => watchScan(scanner, hostPidNamespace, blind),
  };
}

/** A watch's scanner between scans: its rules, the scan's cache, whom each process runs as, the users it knows. */
interface Scanner {
  readonly options: WatchScannerOptions;
  readonly reader: PlatformReader;
  readonly hostRoot: string;
  /** The watch's own uid. */
  readonly self: number | undefined;
  rules: WatchRules;
  readonly cache: NonNullable<ScanOptions['cache']>;
  /** Whom each process runs as, by pid and start time: read once, when it is first seen (as its command line is); what its environment names; what its user's config keeps of it, by the rules it was judged by. */
  readonly owners: Map<number, Owner>;
  round: number;
  passwd: { mtimeMs: number; users: Map<number, PasswdUser> } | undefined;
  states: UserState[];
  /** Each user's files (system-wide). */
  readonly files: UserFiles;
  /** Users whose processes may not be reaped, with why (the last scan's). */
  withheld: Map<number, string>;
  /** Per uid: what that user's configs keep beyond the watch's rules (the last scan's). */
  keeps: Map<number, KeepRules>;
}

interface Owner {
  startTime: number;
  uid: number | undefined;
  round: number;
  directories?: UserDirectories;
  /** What its user's config keeps of it, judged by these rules (the same object while they hold). */
  keep?: { rules: KeepRules; verdict: { uid: number; why: string } | undefined };
}

/** One scan: scanMachine with the rules and the state directories it reads, then each user's figures. */
async function watchScan(scanner: Scanner, hostPidNamespace: boolean | undefined, blind: string | undefined): Promise<WatchScanReport> {
  const { options, reader, rules, cache, hostRoot, self } = scanner;
  const known = users(scanner);
  const system = options.scope === 'system';
  // System-wide: the users' files are read once the table is, as its processes name them.
  const looked: UsersOfLook = { environments: true, read: (table) => readUsers(scanner, known, table) };
  const report = await scanMachine({
    keep: rules.keep,
    keepSharedDaemons: rules.keepSharedDaemons,
    agents: rules.agents,
    all: options.all,
    cache,
    keepOpen: options.keepOpen,
    cpuSampleMs: options.cpuSampleMs,
    reader,
    ...(system ? { userFiles: looked } : scanner.states.length > 0 ? { states: scanner.states } : {}),
  });
  const snapshot = cache.previous as ProcessSnapshot;
  if (!system) noteOwners(scanner, snapshot);
  const unreadable = scanner.withheld;
  const uidOf = { get: (pid: number): number | undefined => scanner.owners.get(pid)?.uid };
  const labels = new Map<number, string>();
  const userOf = (pid: number): string => {
    const uid = uidOf.get(pid) ?? reader.readOwner?.(pid);
    let label = labels.get(uid ?? -1);
    if (label === undefined) labels.set(uid ?? -1, (label = userLabel(uid, known)));
    return label;
  };
  const own = userLabel(self, known);
  const figures = figuresByUser({ processes: snapshot.processes, certain: report.certain, suspected: report.suspected, kept: report.kept }, userOf, options.scope === 'user' ? (u) => u === own : undefined);
  const warnings = [...(blind ? [blind] : []), ...report.warnings, ...unreadable.values()];
  // Users a system-wide watch cannot judge: their state or config cannot be read or used, or they have no home in /etc/passwd.
  const notReapable = (pid: number): string | undefined => {
    if (options.scope !== 'system') return undefined;
    const uid = uidOf.get(pid);
    if (uid === undefined) return 'its owner cannot be read';
    if (unreadable.has(uid)) return unreadable.get(uid);
    if (uid !== self && !known.has(uid)) return `uid ${uid} has no entry in ${join(hostRoot, 'etc', 'passwd')}: its rtrack state cannot be found`;
    return undefined;
  };
  return { ...report, warnings, users: figures, userOf, notReapable, ...(hostPidNamespace === undefined ? {} : { hostPidNamespace }) };
}

/** Owners of new processes, and what their environments name (UserFiles); the others keep theirs. No key strings: this runs for every process. */
function noteOwners(scanner: Scanner, snapshot: ProcessSnapshot): void {
  const { owners, reader, files } = scanner;
  const round = ++scanner.round;
  const gone = (known: Owner): void => {
    if (known.uid !== undefined) noteUserProcess(files, known.uid, known.directories, -1);
  };
  for (const p of snapshot.processes) {
    const known = owners.get(p.pid);
    if (known !== undefined && known.startTime === p.startTime) {
      known.round = round;
      continue;
    }
    if (known !== undefined) gone(known);
    const owner: Owner = { startTime: p.startTime, uid: reader.readOwner?.(p.pid), round };
    if (p.userDirectories) owner.directories = p.userDirectories;
    if (owner.uid !== undefined) noteUserProcess(files, owner.uid, owner.directories, 1);
    owners.set(p.pid, owner);
  }
  owners.forEach((known, pid) => {
    if (known.round === round) return;
    gone(known);
    owners.delete(pid);
  });
}

/** A system-wide scan's users, read once its table is: whom each process runs as, then each user's files. */
function readUsers(scanner: Scanner, known: Map<number, PasswdUser>, snapshot: ProcessSnapshot): UsersOfTable {
  const { options } = scanner;
  noteOwners(scanner, snapshot);
  const read = readUserFiles(scanner.files, {
    hostRoot: scanner.hostRoot,
    passwd: known,
    ownState: options.state,
    self: scanner.self,
    ownConfig: options.config,
    ownSharedDaemons: scanner.rules.keepSharedDaemons ?? true,
    readsOthersState: options.readsOthersState,
  });
  scanner.states = read.states;
  scanner.withheld = read.withheld;
  scanner.keeps = read.keeps;
  return tableUsers(scanner);
}

/** What the users' files say, as the last scan read them (for its own look, and the reaper's gate). */
function tableUsers(scanner: Scanner): UsersOfTable {
  return { states: scanner.states, ownerOf: (p) => ownerOf(scanner, p), ...(scanner.keeps.size > 0 ? { keptByOwner: (p: ProcessInfo) => keptByOwner(scanner, p) } : {}) };
}

/** How a process was noted when it was first seen, when this is that process. */
function noted(scanner: Scanner, p: ProcessInfo): Owner | undefined {
  const owner = scanner.owners.get(p.pid);
  return owner !== undefined && owner.startTime === p.startTime ? owner : undefined;
}

/** Whom a process runs as: as noted when it was first seen, else (a look newer than the last scan: the gate's) read now. */
function ownerOf(scanner: Scanner, p: ProcessInfo): number | undefined {
  const owner = noted(scanner, p);
  return owner ? owner.uid : scanner.reader.readOwner?.(p.pid);
}

/** What the config of the user a process runs as keeps of it, judged once for the rules in force. Runs for every process: allocates only when it judges. */
function keptByOwner(scanner: Scanner, p: ProcessInfo): { uid: number; why: string } | undefined {
  const owner = noted(scanner, p);
  const uid = owner ? owner.uid : scanner.reader.readOwner?.(p.pid);
  const rules = uid === undefined ? undefined : scanner.keeps.get(uid);
  if (uid === undefined || rules === undefined) return undefined;
  if (owner?.keep?.rules === rules) return owner.keep.verdict;
  const reason = keepReasonOf(fullCommand(p), undefined, rules);
  const verdict = reason === undefined ? undefined : { uid, why: `kept by ${userLabel(uid, scanner.passwd?.users ?? new Map())}'s own config (${reason})` };
  if (owner) owner.keep = { rules, verdict };
  return verdict;
}

/** The users of the host's /etc/passwd, read again when it changed. */
function users(scanner: Scanner): Map<number, PasswdUser> {
  const path = join(scanner.hostRoot, 'etc', 'passwd');
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    // unreadable: users are shown by uid
  }
  if (!scanner.passwd || scanner.passwd.mtimeMs !== mtimeMs) scanner.passwd = { mtimeMs, users: readPasswd(scanner.hostRoot) };
  return scanner.passwd.users;
}
