// One `rtrack watch` scan: scanMachine over the whole table, then each user's figures — every user's
// in a system-wide watch, its own user's alone in a per-user one — so that summed over a machine's
// watches nothing counts twice. A system-wide watch reads every user's state directory (their hook
// registrations and journal), or it would take a live session's processes for leaks.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { UserState } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { readPasswd } from '../platform/users.js';
import { figuresByUser, isInitialPidNamespace, userLabel, type PasswdUser, type WatchScope } from '../rules/watch-scope.js';
import type { AgentConfig, ProcessSnapshot } from '../types.js';
import type { WatchScanReport } from './prometheus.js';
import { scanMachine, type ScanOptions } from './scan-machine.js';

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
  /** Whether the watch sees the host's PID namespace (undefined: cannot tell), read once. */
  readonly hostPidNamespace: boolean | undefined;
}

/** The state directory of a user of /etc/passwd, as rtrack's hooks make it by default: `~/.local/state/rtrack`. */
const userStatePath = (hostRoot: string, user: PasswdUser): string => join(hostRoot, user.home, '.local', 'state', 'rtrack');

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
  /** Whom each process runs as, by pid and start time: read once, when it is first seen (as its command line is). */
  readonly owners: Map<number, { startTime: number; uid: number | undefined; round: number }>;
  round: number;
  passwd: { mtimeMs: number; users: Map<number, PasswdUser> } | undefined;
  states: UserState[];
}

/** One scan: scanMachine with the rules and the state directories it reads, then each user's figures. */
async function watchScan(scanner: Scanner, hostPidNamespace: boolean | undefined, blind: string | undefined): Promise<WatchScanReport> {
  const { options, reader, rules, cache, hostRoot, self } = scanner;
  const known = users(scanner);
  let unreadable = new Map<number, string>();
  if (options.scope === 'system') ({ states: scanner.states, unreadable } = userStates(scanner, known));
  const states = scanner.states;
  const report = await scanMachine({
    keep: rules.keep,
    keepSharedDaemons: rules.keepSharedDaemons,
    agents: rules.agents,
    all: options.all,
    cache,
    keepOpen: options.keepOpen,
    cpuSampleMs: options.cpuSampleMs,
    reader,
    ...(states.length > 0 ? { states } : {}),
  });
  const snapshot = cache.previous as ProcessSnapshot;
  noteOwners(scanner, snapshot);
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
  // Users a system-wide watch cannot judge: their state cannot be read, or they have no home in /etc/passwd.
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

/** Owners of new processes; the others keep theirs. No key strings: this runs for every process. */
function noteOwners(scanner: Scanner, snapshot: ProcessSnapshot): void {
  const { owners, reader } = scanner;
  const round = ++scanner.round;
  for (const p of snapshot.processes) {
    const known = owners.get(p.pid);
    if (known !== undefined && known.startTime === p.startTime) known.round = round;
    else owners.set(p.pid, { startTime: p.startTime, uid: reader.readOwner?.(p.pid), round });
  }
  owners.forEach((known, pid) => known.round !== round && owners.delete(pid));
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

/**
 * The state directories a system-wide watch reads: its own, and each user's of /etc/passwd that
 * exists; `unreadable`: users whose directory exists but cannot be read (no CAP_DAC_READ_SEARCH).
 */
function userStates({ options, hostRoot }: Scanner, known: Map<number, PasswdUser>): { states: UserState[]; unreadable: Map<number, string> } {
  const found: UserState[] = options.state ? [{ path: options.state }] : [];
  const unreadable = new Map<number, string>();
  for (const user of known.values()) {
    const path = userStatePath(hostRoot, user);
    if (found.some((s) => s.path === path)) continue;
    try {
      // Most users have none: asked without an exception (a thrown one costs tens of µs, every scan).
      if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) continue; // nothing of rtrack's there
      readdirSync(path);
      found.push({ path, uid: user.uid });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      unreadable.set(user.uid, `${user.name}'s rtrack state (${path}) cannot be read: ${code}${options.readsOthersState === false ? ' (give the watch CAP_DAC_READ_SEARCH)' : ''}`);
    }
  }
  return { states: found, unreadable };
}
