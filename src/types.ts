// The records every layer shares. Plain data only: readers produce them, rules consume them.

/** One process, as every platform reader reports it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Full command line (arguments joined by spaces), truncated to 100 characters plus `...`; the process name when the command line is empty. */
  command: string;
  /** Resident memory (RSS) in MB (of 1024 × 1024 bytes). */
  memoryMB: number;
  /** Resident memory (RSS) in bytes; always set by the readers (absent only in hand-made records). */
  memoryBytes?: number;
  /** True when the command matches the seed's MCP/browser pattern. */
  isMCP: boolean;
  /** When the process started, in ms since the epoch (Linux: 10 ms resolution; macOS: 1 s). */
  startTime: number;
  /**
   * The process's identity, opaque: equal for the same process, different for another process that
   * reuses the pid (Linux: `pid:start time in clock ticks since boot`). Absent where it is
   * `pid:startTime` (macOS, Windows, hand-made records). Compare with `identityKey()`.
   */
  identity?: string;
  /** `RESOURCE_TRACKER_TASK` from the process's environment when it was read and set ('' when set empty). */
  taskTag?: string;
  /** Why the process is declared to outlive its task: the environment marker, a configured keep pattern, or a shared per-user daemon. */
  keepReason?: KeepReason;
  /** The command line as read (arguments joined by spaces): what keep patterns and `--match` are matched against. The first 4 KiB, unless it was read whole for a verdict. */
  commandLine?: string;
  /**
   * Only the first 4 KiB of the command line were read: whether a keep pattern matches the rest is
   * not known, so it is never a certain leak, and the gate refuses it, until it is read whole.
   */
  commandLineTruncated?: boolean;
  /** The name of the file it runs (Linux `/proc/[pid]/exe`), whatever its title says; absent where unreadable or not read. */
  executable?: string;
  /** Its environment was to be read but could not be (another user's process), or not whole (`environmentProblem`): it carries no known tag or marker, and is never a certain leak. */
  environmentUnreadable?: boolean;
  /**
   * It was started in a terminal multiplexer's pane (its environment has tmux's TMUX, screen's STY or
   * zellij's ZELLIJ_SESSION_NAME): the multiplexer and, where the variable names it, its server's
   * pid. What it carries came from that server unless it differs from the server's (rules/whole-evidence.ts).
   */
  startedInPane?: { host: string; serverPid?: number };
  /** Why an environment that was read is no evidence: `truncated` (longer than 4 MiB) or `garbled` (overwritten by a title rewrite). */
  environmentProblem?: 'truncated' | 'garbled';
  /**
   * Its environment was overwritten by a title rewrite, and what it carries (tag, markers, keep) is
   * its parent's, this pid: the same program, which passed its environment on (Chromium's zygote
   * and renderers, a server's workers).
   */
  environmentFrom?: number;
  /** The agent session that started it (its environment's markers: CLAUDE_CODE_SESSION_ID, …), when read. */
  agent?: AgentMarker;
  /** Every agent session it carries the markers of, when more than one agent's are set (agents nest); `agent` is the first. */
  agentSessions?: AgentMarker[];
  /**
   * The agents whose presence variable it carries (Gemini CLI's GEMINI_CLI=1: "started by some
   * Gemini CLI", no session named), when read.
   */
  startedBy?: string[];
  /** `RESOURCE_TRACKER_DAEMON` from its environment: one of rtrack's own long-lived processes (`follower`). */
  trackerDaemon?: string;
  /** The user it runs as, where read: a scan reads it for the processes it reports. */
  user?: ProcessUser;
  /**
   * Where its environment says its user's files are — `HOME`, `XDG_STATE_HOME`, `XDG_CONFIG_HOME`
   * as set (absent when unset) — read only when a snapshot asks (a system-wide watch: where each
   * user's rtrack state and config are).
   * @internal
   */
  userDirectories?: UserDirectories;
}

/**
 * A process's `HOME`, `XDG_STATE_HOME` and `XDG_CONFIG_HOME`, as its environment has them.
 * @internal
 */
export interface UserDirectories {
  home?: string;
  stateHome?: string;
  configHome?: string;
}

/** A user, as a scan names the user a process runs as. */
export interface ProcessUser {
  uid: number;
  /** The user's name, where the system names it (`/etc/passwd`). */
  name?: string;
}

/** A process's agent session markers, as found in its environment. */
export interface AgentMarker {
  /** The agent's name (`claude-code`, `codex`, or one from the config's `agents`). */
  agent: string;
  /** The session id. */
  sessionId: string;
  /** The agent's pid, where the agent says it (CLAUDE_PID). */
  agentPid?: number;
}

/** Tracker markers found in a process's environment. */
export interface EnvMarkers {
  /** Value of RESOURCE_TRACKER_TASK ('' when set empty); undefined when unset. */
  task?: string;
  /** RESOURCE_TRACKER_KEEP set to a non-empty value other than 0. */
  keep: boolean;
  /** RESOURCE_TRACKER_DAEMON: which of rtrack's own long-lived processes this is (the follower sets it). */
  daemon?: string;
  /** Other variables asked for (ReadTableOptions.environmentVariables) that are set. */
  vars?: Record<string, string>;
}

/** `env`: RESOURCE_TRACKER_KEEP or an empty task tag; `pattern`: a configured keep pattern; `shared-daemon`: the built-in list of per-user daemons (ssh-agent, gpg-agent, …). */
export type KeepReason = 'env' | 'pattern' | 'shared-daemon';

/** One look at every process on the machine, with the totals. */
export interface ProcessSnapshot {
  timestamp: Date;
  processes: ProcessInfo[];
  totalMemoryMB: number;
  /** The same total in bytes (set by takeSnapshot; absent only in hand-made snapshots). */
  totalMemoryBytes?: number;
  processCount: number;
  /** Problems the reader met that limit what can be concluded (e.g. no parent pids on Windows tasklist). */
  warnings?: string[];
  /** Pids that exist but could not be read (e.g. `hidepid`): not in `processes`, never taken for gone. */
  unreadable?: number[];
}

/** The tracker's settings (the seed's `diagnostics.resource_tracking` section, in camelCase). */
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
  /** Keep the built-in list of shared per-user daemons (ssh ControlMaster, gpg-agent, …; default: true). */
  keepSharedDaemons: boolean;
  /** Agents of your own whose session markers `scan` and `watch` read, besides the built-in ones (default: []). */
  agents: AgentConfig[];
  /** What the session follower (started by the agents' hooks) does when an agent exits. */
  sessions: SessionsConfig;
  /**
   * Run each task in a control group of its own where the kernel allows (Linux, cgroup v2, a
   * writable or delegated group): `auto` (default) uses one when it can and says why not otherwise,
   * `required` refuses to start the task without one, `off` never uses one.
   */
  cgroup: CgroupMode;
  /**
   * Warn when the task's own tree held more than this many MB at its peak (its own account:
   * `TaskReport.account`, not the machine-wide delta). Off unless set.
   */
  taskMemoryThresholdMB?: number;
}

/** See ResourceTrackerConfig.cgroup. */
export type CgroupMode = 'auto' | 'required' | 'off';

/** The session follower's settings (YAML `sessions: { reap, linger_ms }`). */
export interface SessionsConfig {
  /** Reap what an ended session left (default: false: only journal it). */
  reap: boolean;
  /** How long after the agent exits its leftovers are looked at, in ms (default: 3000). */
  lingerMs: number;
}

/** An agent of your own: the variables it sets in what it starts, and how its own process looks. */
export interface AgentConfig {
  name: string;
  /** The variable that carries the session id. */
  sessionVar: string;
  /** The variable that carries the agent's pid, if it sets one. */
  pidVar?: string;
  /** A regular expression matching the agent process's command line. */
  process: string;
}

/** The environment variable that carries a task's tag to every descendant. */
export const TASK_ENV_VAR = 'RESOURCE_TRACKER_TASK';
/** The environment variable that declares a process (and its children) meant to outlive its task. */
export const KEEP_ENV_VAR = 'RESOURCE_TRACKER_KEEP';
/** The environment variable that marks rtrack's own long-lived processes (the session follower): never reported, never signalled. */
export const DAEMON_ENV_VAR = 'RESOURCE_TRACKER_DAEMON';

/** The defaults: the seed's, plus keep patterns, lineage following and the shared-daemon list. */
export const DEFAULT_CONFIG: Readonly<ResourceTrackerConfig> = Object.freeze({
  enabled: true,
  memoryThresholdMB: 100,
  logOrphanedMCPOnly: false,
  keep: [],
  lineageIntervalMs: 250,
  keepSharedDaemons: true,
  agents: [],
  sessions: { reap: false, lingerMs: 3000 },
  cgroup: 'auto',
});

/**
 * Why a process is attributed to a task or session. `tag`, `lineage`, `agent` (an agent session's
 * markers, the session over) and `cgroup` (it is in the run's control group) attribute it;
 * `heuristic` only suspects it.
 */
export type Evidence = 'tag' | 'lineage' | 'agent' | 'cgroup' | 'heuristic';

/** A process in a verdict, with the evidence for it. */
export interface AttributedProcess extends ProcessInfo {
  evidence: Evidence[];
  /**
   * Why it is at most a suspect although it carries what would attribute it: what it carries was not
   * read whole (`unreadable`: its environment cut or overwritten by a title, its command line cut),
   * or is a shared host's (a terminal multiplexer's server, or a pane carrying only the server's).
   */
  suspectBecause?: string;
  /** Why it is kept when its own keep reason does not say: in the pipeline of a kept process, below one, or recorded by the run that kept it. */
  keepBecause?: string;
  /** What it costs (read for the processes a verdict reports, where the OS tells). */
  cost?: LeakCost;
  /**
   * A suspect born while several runs of this process were in progress (tasks run at once), which no
   * run's evidence attributes: the tags of the runs it could belong to, this one among them. Such a
   * suspect is named in one report only.
   */
  couldBelongTo?: string[];
}

/** What reaping did to one process (see the README's table). */
export type ReapResultKind =
  | 'terminated' // gone after the first signal
  | 'killed' // gone after SIGKILL
  | 'gone' // already gone before any signal
  | 'identity-changed' // the pid now belongs to another process: not signalled
  | 'not-permitted' // the OS refused the signal (another user's process)
  | 'unreadable' // it exists but its identity could not be read: not signalled
  | 'unattributed' // no tag or lineage evidence (a heuristic suspect) and allowUnattributed was not given: not signalled
  | 'refused' // pid ≤ 1, rtrack itself, its ancestors, its follower or watch, the follower lock's holder: never signalled
  | 'kept' // declared to outlive its task, as it is now (it may have exec'd since the verdict): never signalled
  | 'in-use' // a live agent, below or hosting one, or of a session that is live or cannot be told over: never signalled
  | 'survived'; // still alive after SIGKILL and the bounded wait

/** One process's result of reaping. */
export interface ReapOutcome {
  pid: number;
  command: string;
  result: ReapResultKind;
  /** Signals actually sent, in order. */
  signals: string[];
  /** Why the gate refused it (`refused`, `kept`, `in-use`, `unreadable`). */
  reason?: string;
}

/** What a leaked process costs the user. */
export interface LeakCost {
  /** Proportional set size: its share of the pages it shares, plus its own (Linux smaps_rollup). */
  pssBytes?: number;
  /** Unique set size: its private pages, what ending it alone gives back. */
  ussBytes?: number;
  /**
   * Its resident set size read at the same moment as `pssBytes` (Linux smaps_rollup): totals pair
   * PSS with this RSS, never with the snapshot's, taken earlier (a process that grew meanwhile would
   * show more PSS than RSS).
   */
  rssBytes?: number;
  /** PSS and USS could not be read (another user's process): only RSS is known. */
  memoryUnreadable?: boolean;
  /** CPU time it has used since it started, in seconds. */
  cpuSeconds?: number;
  /**
   * Its share of one core: over a sample of `cpuSampleMs` (run, `scan --full-cost`, watch), or, where none
   * was taken (`scan`), since it started.
   */
  cpuPercent?: number;
  /** How long the CPU sample behind `cpuPercent` was, in ms; absent when it is the share since the process started. */
  cpuSampleMs?: number;
  /** At least 90 % of a core over that interval. */
  spinning?: boolean;
  /** The TCP and UDP ports it listens on (IPv4 and IPv6). */
  listening?: { protocol: 'tcp' | 'udp'; address: string; port: number }[];
}

/**
 * Identity of a process: pid plus start time, so a reused pid is a different process. The start time
 * is in the OS's own unit (Linux: clock ticks since boot, which no clock change can shift).
 */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

/** The run that owns a task tag: its identity in its own PID namespace (when the OS has them). */
export interface TaskOwner extends ProcessIdentity {
  /**
   * The PID namespace's inode number (Linux `/proc/[pid]/ns/pid`) as a decimal string; absent where
   * the OS has none; `unknown` when it could not be read (the owner cannot then be looked up).
   */
  pidNamespace?: string;
  /**
   * The run is registered: it is in progress only while the owner holds its run file open (see
   * task/run-file.ts), so a host that outlives its runs (an orchestrator) ends each one. Without
   * it, the run lasts as long as the owner process.
   */
  registered?: boolean;
}

/** A descendant of a task seen while following its tree: identity plus its parent when first seen. */
export interface LineageRecord extends ProcessIdentity {
  ppid: number;
  /** The process carried a keep marker in its environment when first seen (where readable). */
  keep?: boolean;
  /** An agent process born in the tree (the session follower records it, but not what runs below it). */
  agent?: boolean;
  /**
   * A terminal multiplexer's server (tmux, screen, …) born in the tree: a host shared by every client
   * of its socket, so what runs in it is not adopted through it (any session or person may have asked for a pane).
   */
  host?: boolean;
  /**
   * The session its agent ran when it was seen, when the agent has moved on to another since
   * (`/clear`): what it left belongs to that session, which may go on elsewhere (resumed).
   */
  session?: string;
}
