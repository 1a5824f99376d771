// One snapshot of every process: the platform's raw records turned into ProcessInfo.
import { SnapshotError } from '../errors.js';
import { BlockBudget, yieldToLoop } from '../event-loop.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader, ProcessTable, RawProcess, ReadTableOptions } from '../platform/types.js';
import { displayCommand } from '../rules/display-command.js';
import { agentMarkersOf, agentPresenceOf, agentVariables, type AgentDefinition } from '../rules/agents.js';
import { identityKey } from '../rules/identity.js';
import { BYTES_PER_MB } from '../rules/memory.js';
import { keepReasonOf, type KeepRules as BareKeepRules } from '../rules/keep.js';
import { PANE_VARIABLES, paneOf, resolveRetitled } from '../rules/whole-evidence.js';
import { compileKeepPatterns, isMCPProcess } from '../rules/patterns.js';
import type { ProcessInfo, ProcessSnapshot, UserDirectories } from '../types.js';


/** How `takeSnapshot()` reads the process table. */
export interface SnapshotOptions {
  /** The OS reader (default: the one for this platform); tests pass their own. */
  reader?: PlatformReader;
  /**
   * An earlier snapshot: processes whose identity (pid + start time) is unchanged take their
   * command (and markers) from it, so only new processes have their command line read.
   */
  previous?: ProcessSnapshot;
  /** Read tracker markers from environments: of none, of new processes only, or of all. */
  environment?: 'none' | 'new' | 'all';
  /** Keep patterns (regular expressions) matched against full command lines. */
  keep?: readonly (string | RegExp)[];
  /** Keep the built-in shared per-user daemons (ssh-agent, gpg-agent, …; default true). */
  keepSharedDaemons?: boolean;
  /** Agents whose session markers are read from the environments read (default: none). */
  agents?: readonly AgentDefinition[];
  /** Snapshots taken at an interval: let the reader keep descriptors open for the next (ReadTableOptions.keepOpen). */
  keepOpen?: boolean;
  /** Pids left out of the snapshot: a task's first process, already started and held before it runs its command. */
  exclude?: readonly number[];
  /** Pids whose command line (and environment) are read again even when `previous` knows them: they may have exec'd since. */
  reread?: ReadonlySet<number>;
  /**
   * Command lines the table read only in part (longer than 4 KiB) are read whole for the processes
   * this snapshot read (`read`: keep patterns are then judged on all of it), or left flagged
   * `commandLineTruncated` (`none`, the default: a snapshot no verdict rests on).
   */
  wholeCommandLines?: 'none' | 'read';
  /**
   * Share one read of the process table with the other shared calls made in the same turn of the
   * event loop (runs of tasks at once ending together): the read starts after every call that shares
   * it, so each still gets a snapshot taken after it asked; what one call needs read in full (a
   * process its `previous` does not know) is read for all.
   */
  shared?: boolean;
  /**
   * Read `HOME`, `XDG_STATE_HOME` and `XDG_CONFIG_HOME` from the environments read, into each
   * process's `userDirectories` (a system-wide watch: where each user's rtrack files are).
   * @internal
   */
  userDirectories?: boolean;
}

type TableRequest = { isKnown: ReadTableOptions['isKnown']; resolve: (table: ProcessTable) => void; reject: (err: unknown) => void };

/** Shared reads waiting for the next turn, by reader and by what they read. */
const pendingReads = new WeakMap<PlatformReader, Map<string, TableRequest[]>>();

/** One read of the table for every shared call of this turn with the same reader and options (see SnapshotOptions.shared). */
function sharedRead(reader: PlatformReader, options: Omit<ReadTableOptions, 'isKnown'>, isKnown: ReadTableOptions['isKnown']): Promise<ProcessTable> {
  let byKind = pendingReads.get(reader);
  if (!byKind) pendingReads.set(reader, (byKind = new Map()));
  const kind = `${options.environment ?? 'none'}|${options.environmentVariables?.join(',') ?? ''}|${options.keepOpen === true}`;
  let requests = byKind.get(kind);
  if (!requests) {
    const batch: TableRequest[] = (requests = []);
    byKind.set(kind, batch);
    setImmediate(() => {
      byKind!.delete(kind);
      const knowers = batch.map((r) => r.isKnown);
      // Known only when every call knows it: what one of them does not know is read in full.
      const known = knowers.some((k) => k === undefined) ? undefined : (pid: number, startTime: number) => knowers.every((k) => k!(pid, startTime));
      reader.readProcessTable({ ...options, isKnown: known }).then(
        (table) => batch.forEach((r) => r.resolve(table)),
        (err) => batch.forEach((r) => r.reject(err)),
      );
    });
  }
  return new Promise((resolve, reject) => requests.push({ isKnown, resolve, reject }));
}

/** Whether a record from an earlier snapshot is this process (same pid and start time, in the OS's unit). */
function isSame(known: ProcessInfo | undefined, pid: number, rawStartTime: number): boolean {
  return known !== undefined && identityKey(known) === identityKey({ pid, startTime: rawStartTime });
}

/** What makes a process kept, besides the environment marker; and what else of its environment to interpret: agents' markers, where its user's files are. */
export interface KeepRules extends BareKeepRules {
  agents?: readonly AgentDefinition[];
  userDirectories?: boolean;
}

/** The variables that say where a user's files are (files.ts stateDirectory, config.ts userConfigPath). */
const USER_DIRECTORY_VARIABLES = ['HOME', 'XDG_STATE_HOME', 'XDG_CONFIG_HOME'];
/** One record for each set of values (most of a user's processes share one): a pointer a process, not three strings. Bounded: cleared when full. */
const userDirectoryRecords = new Map<string, UserDirectories>();

/** Where the environment's variables say the user's files are (empty counts as unset, as it does to rtrack); undefined when none is set. */
function userDirectoriesOf(vars: Readonly<Record<string, string>> | undefined): UserDirectories | undefined {
  const home = vars?.HOME || undefined;
  const stateHome = vars?.XDG_STATE_HOME || undefined;
  const configHome = vars?.XDG_CONFIG_HOME || undefined;
  if (home === undefined && stateHome === undefined && configHome === undefined) return undefined;
  const key = `${home ?? ''}\0${stateHome ?? ''}\0${configHome ?? ''}`;
  let record = userDirectoryRecords.get(key);
  if (record === undefined) {
    if (userDirectoryRecords.size >= 1024) userDirectoryRecords.clear();
    record = Object.freeze({ ...(home ? { home } : {}), ...(stateHome ? { stateHome } : {}), ...(configHome ? { configHome } : {}) });
    userDirectoryRecords.set(key, record);
  }
  return record;
}

/** Takes one snapshot of every process on the machine. */
export async function takeSnapshot(options: SnapshotOptions = {}): Promise<ProcessSnapshot> {
  const reader = options.reader ?? platformReader();
  const keep: KeepRules = { patterns: compileKeepPatterns(options.keep ?? []), sharedDaemons: options.keepSharedDaemons ?? true, agents: options.agents, userDirectories: options.userDirectories };
  // By pid, compared on start time: no per-process key strings on the hot path.
  let previous: Map<number, ProcessInfo> | undefined;
  if (options.previous) {
    previous = new Map();
    for (const p of options.previous.processes) previous.set(p.pid, p);
  }
  let table;
  try {
    const isKnown = previous ? (pid: number, startTime: number) => !options.reread?.has(pid) && isSame(previous!.get(pid), pid, startTime) : undefined;
    const read = { environment: options.environment ?? 'none', environmentVariables: [...(options.agents ? agentVariables(options.agents) : []), ...PANE_VARIABLES, ...(options.userDirectories ? USER_DIRECTORY_VARIABLES : [])], keepOpen: options.keepOpen };
    table = options.shared ? await sharedRead(reader, read, isKnown) : await reader.readProcessTable({ ...read, isKnown });
  } catch (err) {
    throw new SnapshotError(`cannot take a process snapshot: ${(err as Error).message}`);
  }
  const raws = options.exclude?.length ? table.processes.filter((raw) => !options.exclude!.includes(raw.pid)) : table.processes;
  const processes: ProcessInfo[] = new Array(raws.length);
  let total = 0;
  let totalBytes = 0;
  await yieldToLoop(); // the reader's last block has just run: a turn before the next
  const budget = new BlockBudget();
  for (let i = 0; i < raws.length; i++) {
    if ((i & 63) === 0 && budget.spent()) await budget.yield();
    const info = toProcessInfo(raws[i]!, previous, keep, reader.startTimeToEpochMs);
    total += info.memoryMB;
    totalBytes += info.memoryBytes!;
    processes[i] = info;
  }
  if (options.wholeCommandLines === 'read') await readWholeCommandLines(reader, raws, processes, previous, keep);
  const forkedFrom = reader.isForkOf ? (child: ProcessInfo, parent: ProcessInfo): boolean => reader.isForkOf!(child.pid, parent.pid) : undefined;
  const snapshot: ProcessSnapshot = { timestamp: new Date(), processes: resolveRetitled(processes, forkedFrom), totalMemoryMB: total, totalMemoryBytes: totalBytes, processCount: processes.length };
  if (table.warnings.length > 0) snapshot.warnings = table.warnings;
  if (table.unreadable && table.unreadable.length > 0) snapshot.unreadable = table.unreadable;
  return snapshot;
}

/**
 * Reads whole the command lines cut at 4 KiB — those the table read this time, and those an earlier
 * snapshot taken without whole command lines left cut (a run's `before`) — and judges those processes
 * again on them. One that is gone meanwhile, or whose pid another process took, or whose command line
 * is longer than the reader reads whole, stays flagged.
 */
async function readWholeCommandLines(reader: PlatformReader, raws: readonly RawProcess[], processes: ProcessInfo[], previous: Map<number, ProcessInfo> | undefined, keep: KeepRules): Promise<void> {
  if (!reader.readCommandLine) return;
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    const known = processes[i]!;
    if (!known.commandLineTruncated) continue;
    const whole = reader.readCommandLine(raw.pid, true);
    const status = whole === undefined ? undefined : await reader.readStatus(raw.pid).catch(() => undefined);
    if (whole === undefined || !status || status.startTime !== raw.startTime) continue;
    if (raw.commandLine !== undefined) {
      processes[i] = toProcessInfo({ ...raw, commandLine: whole, commandLineTruncated: false }, previous, keep, reader.startTimeToEpochMs);
      continue;
    }
    // Known from the earlier snapshot, whose environment this one did not read again: what the
    // environment made of it stays; the command line is judged anew (keeping never harms).
    const { commandLineTruncated: _cut, ...rest } = known;
    const info: ProcessInfo = { ...rest, command: displayCommand(whole, raw.name), commandLine: whole, isMCP: isMCPProcess(whole) };
    const keepReason = known.keepReason ?? keepReasonOf(whole, undefined, keep);
    if (keepReason) info.keepReason = keepReason;
    processes[i] = info;
  }
}

/** Turns a platform record into a ProcessInfo: display command, MCP flag, markers, keep reason. */
export function toProcessInfo(
  raw: RawProcess,
  previous?: Map<number, ProcessInfo>,
  keep: KeepRules = { patterns: [], sharedDaemons: true },
  toEpochMs: (startTime: number) => number = (t) => t,
): ProcessInfo {
  const memoryMB = raw.rssBytes / BYTES_PER_MB;
  if (raw.commandLine === undefined) {
    const known = previous?.get(raw.pid);
    if (known && isSame(known, raw.pid, raw.startTime)) return { ...known, ppid: raw.ppid, memoryMB, memoryBytes: raw.rssBytes };
  }
  const full = raw.commandLine || raw.name;
  const info: ProcessInfo = {
    pid: raw.pid,
    ppid: raw.ppid,
    command: displayCommand(raw.commandLine ?? '', raw.name),
    memoryMB,
    memoryBytes: raw.rssBytes,
    isMCP: isMCPProcess(full),
    startTime: toEpochMs(raw.startTime),
  };
  // The OS's own start time stays the identity: epoch times can shift when the clock is set.
  if (info.startTime !== raw.startTime) info.identity = identityKey({ pid: raw.pid, startTime: raw.startTime });
  if (raw.commandLine !== undefined && raw.commandLine !== '') info.commandLine = raw.commandLine;
  if (raw.commandLineTruncated) info.commandLineTruncated = true;
  if (raw.executable !== undefined) info.executable = raw.executable;
  if (raw.env?.task !== undefined) info.taskTag = raw.env.task;
  if (raw.environmentUnreadable) info.environmentUnreadable = true;
  if (raw.environmentProblem) info.environmentProblem = raw.environmentProblem;
  if (raw.env?.daemon) info.trackerDaemon = raw.env.daemon;
  const markers = keep.agents ? agentMarkersOf(raw.env?.vars, keep.agents) : [];
  if (markers.length > 0) info.agent = markers[0];
  if (markers.length > 1) info.agentSessions = markers;
  const presence = keep.agents ? agentPresenceOf(raw.env?.vars, keep.agents) : [];
  if (presence.length > 0) info.startedBy = presence;
  const pane = paneOf(raw.env?.vars);
  if (pane) info.startedInPane = pane;
  const directories = keep.userDirectories ? userDirectoriesOf(raw.env?.vars) : undefined;
  if (directories) info.userDirectories = directories;
  const keepReason = keepReasonOf(full, raw.env, keep);
  if (keepReason) info.keepReason = keepReason;
  return info;
}
