// The records every layer shares. Plain data only: readers produce them, rules consume them.

/** One process, as every platform reader reports it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Full command line (arguments joined by spaces), truncated to 100 characters plus `...`; the process name when the command line is empty. */
  command: string;
  /** Resident memory (RSS) in MB. */
  memoryMB: number;
  /** True when the command matches the seed's MCP/browser pattern. */
  isMCP: boolean;
  /** Start time as the OS reports it (Linux: clock ticks since boot; macOS/Windows: ms since the epoch). With `pid`, the identity. */
  startTime: number;
  /** `RESOURCE_TRACKER_TASK` from the process's environment when it was read and set ('' when set empty). */
  taskTag?: string;
  /** Why the process is declared to outlive its task: the environment marker or a configured keep pattern. */
  keepReason?: KeepReason;
}

export type KeepReason = 'env' | 'pattern';

export interface ProcessSnapshot {
  timestamp: Date;
  processes: ProcessInfo[];
  totalMemoryMB: number;
  processCount: number;
  /** Problems the reader met that limit what can be concluded (e.g. no parent pids on Windows tasklist). */
  warnings?: string[];
}

export interface ResourceTrackerConfig {
  /** Enable tracking (default: true). */
  enabled: boolean;
  /** Warn if memory grows by more than this many MB (default: 100). */
  memoryThresholdMB: number;
  /** Only log MCP-related orphans (default: false). */
  logOrphanedMCPOnly: boolean;
  /** Regular expressions (source text) matched against command lines: matching processes are kept, never leaks (default: []). */
  keep: string[];
  /** How often the task's process tree is followed, in ms (default: 250). */
  lineageIntervalMs: number;
}

/** The environment variable that carries a task's tag to every descendant. */
export const TASK_ENV_VAR = 'RESOURCE_TRACKER_TASK';
/** The environment variable that declares a process (and its children) meant to outlive its task. */
export const KEEP_ENV_VAR = 'RESOURCE_TRACKER_KEEP';

export const DEFAULT_CONFIG: Readonly<ResourceTrackerConfig> = Object.freeze({
  enabled: true,
  memoryThresholdMB: 100,
  logOrphanedMCPOnly: false,
  keep: [],
  lineageIntervalMs: 250,
});

/** Why a process is attributed to a task. */
export type Evidence = 'tag' | 'lineage' | 'heuristic';

/** A process in a verdict, with the evidence for it. */
export interface AttributedProcess extends ProcessInfo {
  evidence: Evidence[];
}

/** Identity of a process: pid plus start time, so a reused pid is a different process. */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

/** A descendant of a task seen while following its tree: identity plus its parent when first seen. */
/** The run that owns a task tag: its identity in its own PID namespace (when the OS has them). */
export interface TaskOwner extends ProcessIdentity {
  /** The PID namespace's inode number (Linux `/proc/[pid]/ns/pid`), as a decimal string. */
  pidNamespace?: string;
}

export interface LineageRecord extends ProcessIdentity {
  ppid: number;
  /** The process carried a keep marker in its environment when first seen (where readable). */
  keep?: boolean;
}
