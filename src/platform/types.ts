// What every platform reader translates its OS into. No rules here: records and capabilities only.
import type { PipeEnd, SocketPeers } from '../rules/keep.js';
import type { EnvMarkers, ProcessIdentity } from '../types.js';

// Tracker markers are a record the rules read too (keep.ts): defined with the shared records.
export type { EnvMarkers } from '../types.js';

/** How much of a command line a table read takes: enough for nearly every one (a longer one is flagged `commandLineTruncated`). */
export const COMMAND_LINE_HEAD = 4096;

/** One process as the OS reports it, before presentation (truncation, patterns). */
export interface RawProcess {
  pid: number;
  /** Parent pid; -1 when the OS source cannot tell (Windows tasklist). */
  ppid: number;
  /** Short name (Linux comm, image name). */
  name: string;
  /** Full command line, arguments joined by spaces; undefined when the reader was told to skip it. */
  commandLine?: string;
  /** The table read only the first 4 KiB of the command line: keep patterns cannot be judged on it until it is read whole. */
  commandLineTruncated?: boolean;
  /** The name of the file it runs (Linux: `/proc/[pid]/exe`), whatever its title says; undefined where unreadable. */
  executable?: string;
  rssBytes: number;
  /** In the OS's own unit (Linux: clock ticks since boot; macOS, Windows: ms since the epoch). */
  startTime: number;
  /** Environment markers; undefined when not read or not readable. */
  env?: EnvMarkers;
  /** The environment was asked for but could not be read (another user's process), or not whole: markers unknown. */
  environmentUnreadable?: boolean;
  /** Why, when it was read but is no evidence (see EnvironmentProblem). */
  environmentProblem?: EnvironmentProblem;
}

/**
 * An environment that was read but is no evidence: `truncated`, longer than rtrack reads (4 MiB);
 * `garbled`, not NAME=value entries any more (a title rewrite overwrote it).
 */
export type EnvironmentProblem = 'truncated' | 'garbled';

/** A single process's identity and liveness, read just before acting on it. */
export interface ProcessStatus {
  pid: number;
  ppid: number;
  /** In the OS's own unit (Linux: clock ticks since boot): with `pid`, the identity. */
  startTime: number;
  /** False for zombies: dead, only waiting for their parent to reap them. */
  alive: boolean;
  /** True when stopped (SIGSTOP, Ctrl+Z); undefined where the platform's reader does not say. */
  stopped?: boolean;
  /**
   * The session it is in (Linux `sid`: the pid of the session leader that made it, `setsid`; 0: a
   * session outside this PID namespace); undefined where the reader does not say. A session is
   * joined only by inheritance, and its pid is not reused while the session has members: a process
   * in the session of a process of an agent's tree descends from it.
   */
  session?: number;
  /** Resident memory in bytes, where the reader tells (Linux). */
  rssBytes?: number;
  /** CPU time it has used in user and in system mode, in seconds, where the reader tells (Linux). */
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  /**
   * CPU time of the children it has waited for (and theirs, recursively), in user and in system mode,
   * in seconds, where the reader tells (Linux): with the two above, what `getrusage` gives its parent
   * once it has been waited for.
   */
  childrenCpuUserSeconds?: number;
  childrenCpuSystemSeconds?: number;
}

/** A process's PID namespace (Linux). */
export interface PidNamespaceInfo {
  /** The namespace's inode number, as a decimal string. */
  namespace: string;
  /** The process's pid as seen inside that namespace. */
  innerPid: number;
}

/** What `readProcessTable()` reads beyond pid, parent, memory and start time. */
export interface ReadTableOptions {
  /** Return true when the command line (and environment) of this identity is already known. */
  isKnown?: (pid: number, startTime: number) => boolean;
  /** Which environments to read for markers: none, only processes not known, or all. */
  environment?: 'none' | 'new' | 'all';
  /** Variables to capture from the environments read, besides the tracker's own (agent session markers). */
  environmentVariables?: readonly string[];
  /**
   * For readers called at an interval (`rtrack watch`): keep what makes the next read cheaper open
   * until then (Linux: each process's `stat` descriptor, up to 4,096 and a quarter of the open-files
   * limit; a read is then one pread instead of open, read and close). Default false.
   */
  keepOpen?: boolean;
}

/** What a text parser made of a command's output. */
export interface ParsedTable {
  processes: RawProcess[];
  /** Lines or rows that could not be parsed (skipped, never fatal). */
  skipped: number;
}

/** A whole process table as a reader returns it. */
export interface ProcessTable {
  processes: RawProcess[];
  /** Problems worth one log line (e.g. parent pids unavailable). */
  warnings: string[];
  /**
   * Pids that are listed but could not be read (EACCES under `hidepid`, another error than "no such
   * process"): they exist, so they are never taken for gone, and never blamed or signalled.
   */
  unreadable?: number[];
}

/**
 * A process exists but could not be read (permission, too many open files, …): not the same as
 * gone. psutil keeps AccessDenied apart from NoSuchProcess for the same reason.
 */
export class ProcessUnreadableError extends Error {
  override readonly name = 'ProcessUnreadableError';
  constructor(
    readonly pid: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Statuses by pid: a pid that is absent is gone; `null` means it exists but could not be read. */
export type StatusMap = Map<number, ProcessStatus | null>;

/**
 * Reads the OS's process table and single processes: one per OS (`/proc`, `ps`, CIM). Inject one
 * into the tracker, `takeSnapshot()`, `scanMachine()` or `reapOrphans()` to read another source.
 */
export interface PlatformReader {
  readonly platform: 'linux' | 'darwin' | 'windows';
  /** Whether another process's environment can be read (tags); false off Linux. */
  readonly readsEnvironment: boolean;
  /** Every process on the machine; rejects when the table cannot be read (never an empty table). */
  readProcessTable(options?: ReadTableOptions): Promise<ProcessTable>;
  /**
   * The pids that exist now, without reading any process (Linux: the names in /proc). With
   * `readStatuses` for the pids not seen before, a poller follows the table for a fraction of what
   * `readProcessTable` costs. Absent where listing costs as much as reading (macOS, Windows).
   */
  listPids?(): Promise<number[]>;
  /** One process's status; undefined when it is gone; throws ProcessUnreadableError when it exists but cannot be read. */
  readStatus(pid: number): Promise<ProcessStatus | undefined>;
  /** Several processes' statuses at once (one query where the OS charges per call: Windows, macOS). */
  readStatuses(pids: readonly number[]): Promise<StatusMap>;
  /** PSS and USS of a process (Linux smaps_rollup), and its RSS read with them; undefined when unreadable (another user's) or not on this OS. */
  readMemoryFootprint?(pid: number): { pssBytes: number; ussBytes: number; rssBytes?: number } | undefined;
  /**
   * How long a process's main thread has been runnable — running, or waiting on a run queue for a
   * core — in seconds (Linux `/proc/[pid]/schedstat`); undefined when gone or not on this OS.
   */
  readRunnableSeconds?(pid: number): number | undefined;
  /** CPU time a process has used (user + system), in seconds; undefined when gone. */
  readCpuSeconds?(pid: number): number | undefined;
  /** The listening TCP/UDP sockets each of these processes holds (Linux: /proc/[pid]/fd matched to /proc/[pid]/net/*); a pid whose descriptors cannot be read is absent. */
  readListeningSockets?(pids: readonly number[]): Map<number, { protocol: 'tcp' | 'udp'; address: string; port: number }[]>;
  /**
   * The Unix-domain sockets each of these processes holds (Linux: its descriptors matched to
   * /proc/[pid]/net/unix, read once per network namespace): the path each is bound to ('' for none;
   * an accepted connection carries its listener's path) and whether it is connected. A pid whose
   * descriptors cannot be read (another user's, gone) is absent.
   */
  readUnixSockets?(pids: readonly number[]): Map<number, { path: string; connected: boolean; ownerExecutable?: boolean }[]>;
  /**
   * The channel ends each of these processes holds (Linux: its `pipe:[inode]` descriptors and the named
   * FIFOs it has open, read or write by the descriptor's mode, and its `socket:[inode]` descriptors);
   * a pid whose descriptors cannot be read (another user's, gone) is absent.
   */
  readPipes?(pids: readonly number[]): Map<number, PipeEnd[]>;
  /**
   * The connected Unix stream and seqpacket sockets of this network namespace with their peers (Linux:
   * the kernel's sock_diag, through iproute2's `ss -xn`); undefined when they cannot be read (no `ss`).
   */
  readSocketPeers?(): SocketPeers | undefined;
  /** A process's working directory (Linux `/proc/[pid]/cwd`); undefined when unreadable or not on this OS. */
  readCwd?(pid: number): string | undefined;
  /** The cgroup v2 group a process is in (Linux `/proc/[pid]/cgroup`, the `0::` line: a path below the hierarchy's root as that process's cgroup namespace sees it); undefined when gone or not on this OS. */
  readCgroup?(pid: number): string | undefined;
  /**
   * One process's command line (arguments joined by spaces): its first 4 KiB, or with `whole` all
   * of it (up to 4 MiB); undefined when gone or unreadable (or longer than that), or not on this OS.
   */
  readCommandLine?(pid: number, whole?: boolean): string | undefined;
  /** The name of the file a process runs (Linux `/proc/[pid]/exe`, directory dropped), whatever its title; undefined when unreadable, gone or not on this OS. */
  readExecutable?(pid: number): string | undefined;
  /**
   * Whether a process is a fork of another that has not exec'd since (Linux: their auxiliary vectors,
   * `/proc/[pid]/auxv`, are the same bytes: fork copies it, exec makes a new one at a new random
   * address); false when either cannot be read.
   */
  isForkOf?(child: number, parent: number): boolean;
  /** The user id a process runs as (Linux: the owner of `/proc/[pid]`); undefined when gone or not on this OS. */
  readOwner?(pid: number): number | undefined;
  /** A user's name (Linux: `/etc/passwd`, read once); undefined when the system names no such user here. */
  readUserName?(uid: number): string | undefined;
  /** Paths of the files a process holds open (Linux `/proc/[pid]/fd`); undefined when unreadable or not on this OS. */
  readOpenFiles?(pid: number): string[] | undefined;
  /** Tracker markers in one process's environment; undefined when not readable, not whole (EnvironmentProblem), or not on this OS. */
  readEnvMarkers(pid: number): Promise<EnvMarkers | undefined>;
  /** This boot's id (Linux: /proc/sys/kernel/random/boot_id), read once; undefined where the OS has none to read. */
  readBootId?(): string | undefined;
  /** This process's own identity, read once (synchronously: tags are made before a task starts). */
  selfIdentity(): ProcessIdentity;
  /** A process's PID namespace alone (Linux: one readlink); undefined when gone; throws ProcessUnreadableError when it cannot be read. */
  readPidNamespaceId?(pid: number): string | undefined;
  /** A process's PID namespace and its pid inside it (Linux); undefined when gone; throws ProcessUnreadableError when it cannot be read. */
  readPidNamespace?(pid: number): PidNamespaceInfo | undefined;
  /** Direct children of the given pids (for following a task's tree); each child's `ppid` is the pid it was found under. */
  readChildren(pids: readonly number[]): Promise<ProcessStatus[]>;
  /** Converts a start time of this platform to ms since the epoch. */
  startTimeToEpochMs(startTime: number): number;
}
