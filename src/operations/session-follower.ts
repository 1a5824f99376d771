// The session follower: one per user, started by the first SessionStart hook. It follows every
// registered agent process (one look at the process table per tick for all of them), records each
// agent's tree, and when an agent exits journals — and with `reap`, reaps — what its session left.
import type { Logger } from '../log.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader, ProcessStatus } from '../platform/types.js';
import { agentDefinitions, isAgentProcess } from '../rules/agents.js';
import { boundLineage, recordBoot, type BootInfo } from '../rules/follower-state.js';
import { identityKey, MAX_TREE_DEPTH } from '../rules/identity.js';
import { keepReasonOf, keptThroughLineage, type KeepRules } from '../rules/keep.js';
import { compileKeepPatterns } from '../rules/patterns.js';
import { mayNotHaveExeced } from '../rules/settling.js';
import { sessionLeftovers } from '../rules/machine-leaks.js';
import { lineageNotWhole, sharedHostKind } from '../rules/whole-evidence.js';
import { processTree, subtree } from '../rules/tree.js';
import type { AgentConfig, AttributedProcess, Evidence, LineageRecord, ProcessIdentity, ProcessInfo } from '../types.js';
import { acquireFollowerLock, appendJournal, appendLineage, releaseFollowerLock, removeRecord, writeLineage } from './agent-sessions.js';
import { bootInfo, ofThisNamespace, readLineage, readRecords, type JournalEntry, type SessionRecord } from '../tracking/session-records.js';
import { measureCosts } from '../tracking/leak-cost.js';
import { reapOrphans } from './reap.js';
import { lookAtTable, withPipelines } from './table-look.js';
import { markersOf } from '../rules/agents.js';

export interface FollowOptions {
  state: string;
  /** How often agents are checked and their trees followed, in ms (default 1000). */
  intervalMs?: number;
  /** How long after an agent exits its session's leftovers are looked at, in ms (default 3000). */
  lingerMs?: number;
  /** Reap what an ended session left (identity-checked, keep rules honoured). */
  reap?: boolean;
  graceMs?: number;
  keep?: readonly string[];
  keepSharedDaemons?: boolean;
  agents?: readonly AgentConfig[];
  logger: Logger;
  reader?: PlatformReader;
  /** Called once the follower holds its lock and starts following. */
  onStart?: () => void;
  /** Runs when the follower, following nothing, is about to let go of its lock (tests widen that window). */
  beforeExit?: () => Promise<void>;
}

interface Followed {
  record: SessionRecord;
  /** Descendants seen while the agent ran that can still matter (rules/follower-state.ts, boundLineage), by identity key. */
  seen: Map<string, LineageRecord>;
  /** Entries seen since the lineage file was last written. */
  unsaved: LineageRecord[];
  /** Entries adopted last tick, not kept, that may not have exec'd then (rules/settling.ts). */
  unsettled: LineageRecord[];
  /** Entry lines in the lineage file; undefined when it must be written whole (none yet, an older follower's, a failed write). */
  fileLines?: number;
  /** It dropped live processes from the lineage (over its cap): said once. */
  capped?: boolean;
  /** Its tree has been walked whole once (a new entry is, on a table read whole that tick). */
  walked: boolean;
  endedAt?: number;
  /** Its agent is gone but its session is not over (resumed, or cannot be told): looked at again then. */
  deferredUntil?: number;
}

/**
 * How long the follower remembers when a session leader it knew was found gone (adoptNewcomers: a
 * server its command backgrounded turns up at the next tick, a second later).
 */
const GONE_KEPT_MS = 60_000;

/** How often a record whose session goes on after its agent exited is looked at again. */
const DEFERRED_RECHECK_MS = 10_000;
/**
 * At most this many processes in one agent's lineage: past it the oldest dead go first, then the
 * oldest live (said in follower.log). About 0.5 MB of lineage file, twice that before it is rewritten.
 */
export const LINEAGE_CAP = 10_000;
/** A lineage file is rewritten whole when it holds more than twice its entries and this many lines. */
const LINEAGE_SLACK = 256;
/**
 * How often what can no longer matter is dropped from the lineages, in ticks (and whenever one is
 * over its cap): a lineage holds at most this many ticks' worth of processes that have exited.
 */
const BOUND_EVERY_TICKS = 5;

/**
 * The process table, followed at a fraction of the cost of reading it every tick: where the reader
 * can list pids (Linux), a tick lists them and reads only the ones not listed the tick before;
 * elsewhere it reads the whole table. A pid listed in two ticks in a row is taken for the same
 * process — except when a new process names it as its parent: then it is read again (`current`),
 * so a pid reused between two ticks never passes a stranger's children off as an agent's. (The
 * cost of that assumption: a process that takes over such a pid is not recorded until it forks.)
 */
class FollowedTable {
  /** Each listed pid as last read; null when it could not be read. */
  private readonly known = new Map<number, ProcessStatus | null>();
  /** Pids read during this tick. */
  private fresh = new Map<number, ProcessStatus | null | undefined>();
  /** Live processes first seen this tick (or found behind a reused pid), in no particular order. */
  newcomers: ProcessStatus[] = [];
  /** When each session leader the table knew was first found gone (ms since the epoch), by identity, for GONE_KEPT_MS. */
  private readonly gone = new Map<string, number>();

  constructor(private readonly reader: PlatformReader) {}

  /** Remembers when a session leader was found gone (the only ones adoptNewcomers asks about). */
  private forget(status: ProcessStatus | null | undefined, now: number): void {
    // (A table read whole does not say who leads a session: then any.)
    if (status && (status.session === undefined || status.session === status.pid)) this.gone.set(identityKey(status), now);
  }

  /** When a process was found gone (ms since the epoch); undefined while it is not known to be. */
  goneAt(p: ProcessIdentity): number | undefined {
    return this.gone.get(identityKey(p));
  }

  /** Brings the table up to date; `whole` reads every process (then every one is fresh). */
  async tick(whole: boolean): Promise<void> {
    this.fresh = new Map();
    this.newcomers = [];
    const now = Date.now();
    for (const [key, at] of this.gone) if (now - at > GONE_KEPT_MS) this.gone.delete(key);
    if (whole || !this.reader.listPids) {
      // Command lines are not needed: every process counts as known.
      const table = await this.reader.readProcessTable({ isKnown: () => true });
      const before = new Map(this.known);
      const listed = new Set(table.processes.map((p) => p.pid));
      for (const [pid, status] of before) if (!listed.has(pid)) this.forget(status, now);
      this.known.clear();
      for (const p of table.processes) {
        const status: ProcessStatus = { pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: true };
        const was = before.get(p.pid);
        if (was && was.startTime !== p.startTime) this.forget(was, now);
        this.known.set(p.pid, status);
        this.fresh.set(p.pid, status);
        if (!before.has(p.pid)) this.newcomers.push(status);
      }
      for (const pid of table.unreadable ?? []) {
        this.known.set(pid, null);
        this.fresh.set(pid, null);
      }
      return;
    }
    const pids = await this.reader.listPids();
    const listed = new Set(pids);
    for (const [pid, status] of this.known) {
      if (listed.has(pid)) continue;
      this.forget(status, now);
      this.known.delete(pid);
    }
    const unseen = pids.filter((pid) => !this.known.has(pid));
    const statuses = await this.reader.readStatuses(unseen);
    for (const pid of unseen) {
      const status = statuses.get(pid);
      if (status === undefined) continue; // gone already
      this.known.set(pid, status);
      this.fresh.set(pid, status);
      if (status?.alive) this.newcomers.push(status);
    }
  }

  /** The process that holds `pid` now (read at most once a tick); null when unreadable, undefined when gone. */
  async current(pid: number): Promise<ProcessStatus | null | undefined> {
    if (this.fresh.has(pid)) return this.fresh.get(pid);
    let status: ProcessStatus | null | undefined;
    try {
      status = await this.reader.readStatus(pid);
    } catch {
      status = null; // exists, not readable
    }
    const before = this.known.get(pid);
    if (before && (status === undefined || (status && status.startTime !== before.startTime))) this.forget(before, Date.now());
    if (status === undefined) this.known.delete(pid);
    else this.known.set(pid, status);
    this.fresh.set(pid, status);
    // Someone else holds the pid now: new to us, as if first listed this tick.
    if (status?.alive && before && before.startTime !== status.startTime) this.newcomers.push(status);
    return status;
  }

  /**
   * Whether a process may still be alive: its pid was listed last tick, held by it as last read
   * (a zombie included: it may still be a parent); undefined when it could not be read.
   */
  holds(p: ProcessIdentity): boolean | undefined {
    const status = this.known.get(p.pid);
    if (status === null) return undefined;
    return status !== undefined && status.startTime === p.startTime;
  }

  /** Children by parent pid, from the table as last read (fresh after a whole tick). */
  childrenByParent(): Map<number, ProcessStatus[]> {
    const children = new Map<number, ProcessStatus[]>();
    for (const p of this.known.values()) {
      if (!p?.alive) continue;
      const list = children.get(p.ppid);
      if (list) list.push(p);
      else children.set(p.ppid, [p]);
    }
    return children;
  }
}

/**
 * The follower: follows every registered agent process, records the lineage of its tree while it
 * runs, and when it exits waits `lingerMs` and journals (and with `reap`, reaps) what its session
 * left. One look at the process table per tick serves every agent, and reads only the processes
 * that are new (its cost does not grow with the number of agents, and barely with the number of
 * processes). Returns when it follows nothing (or another follower holds the lock).
 */
export async function followSessions(options: FollowOptions): Promise<void> {
  const reader = options.reader ?? platformReader();
  if (!(await acquireFollowerLock(options.state, reader))) return;
  options.onStart?.();
  const follower: Follower = {
    options,
    reader,
    intervalMs: options.intervalMs ?? 1000,
    lingerMs: options.lingerMs ?? 3000,
    followed: new Map(),
    table: new FollowedTable(reader),
    definitions: agentDefinitions(options.agents),
    keepRules: { patterns: compileKeepPatterns(options.keep ?? []), sharedDaemons: options.keepSharedDaemons ?? true },
    parentCommands: new Map(),
    hostChecked: new WeakSet(),
    boot: bootInfo(reader),
    ticks: 0,
  };
  const { followed, boot } = follower;
  // Records of another PID namespace (a container sharing the home) name pids this follower cannot
  // judge: never followed, never closed or removed from here.
  const ns = reader.readPidNamespaceId?.(process.pid);
  const ours = (): { path: string; record: SessionRecord }[] => readRecords(options.state).filter(({ record }) => ofThisNamespace(record, ns));
  try {
    for (;;) {
      const records = ours().filter(({ path, record }) => followed.has(path) || !ofAnotherBoot(path, record, boot, options.logger));
      if (records.length === 0 && followed.size === 0) {
        // Following nothing: let go of the lock, then look once more. A SessionStart that wrote its
        // record while the lock was still held started no follower: its record is seen now, and
        // followed by this follower (or by the one that SessionStart started, if that one is first).
        await options.beforeExit?.();
        releaseFollowerLock(options.state, reader);
        if (ours().length === 0 || !(await acquireFollowerLock(options.state, reader))) return;
        continue;
      }
      followRecords(follower, records);
      await followTick(follower);
      await new Promise((resolve) => setTimeout(resolve, follower.intervalMs));
    }
  } finally {
    releaseFollowerLock(options.state, reader);
  }
}

/** A follower between ticks: what it follows, its table, and what it reads once a tick or once a process. */
interface Follower {
  readonly options: FollowOptions;
  readonly reader: PlatformReader;
  readonly intervalMs: number;
  readonly lingerMs: number;
  /** Each record followed, by its path. */
  readonly followed: Map<string, Followed>;
  readonly table: FollowedTable;
  readonly definitions: ReturnType<typeof agentDefinitions>;
  readonly keepRules: KeepRules;
  // A parent's command line, read once a tick however many children it started (a test loop's shell
  // starts a hundred a second): what mayNotHaveExeced compares each newcomer's with.
  parentCommands: Map<number, string | undefined>;
  /** The lineage records whose file isHost has read. */
  readonly hostChecked: WeakSet<LineageRecord>;
  readonly boot: BootInfo;
  ticks: number;
}

/** Follows the records found: a new one from its saved lineage; a known one takes the record's news. */
function followRecords({ followed, boot }: Follower, records: readonly { path: string; record: SessionRecord }[]): void {
  for (const { path, record } of records) {
    const entry = followed.get(path);
    if (entry) {
      // A SessionEnd reason may have arrived, or /clear a new session id: what the tree held
      // until then stays the earlier session's (it may be resumed elsewhere and go on).
      if (record.sessionId !== entry.record.sessionId) {
        for (const r of entry.seen.values()) r.session ??= entry.record.sessionId;
        entry.fileLines = undefined; // written whole, with the sessions
      }
      entry.record = record;
    }
    else followed.set(path, { record, ...loadLineage(path, boot), unsaved: [], unsettled: [], walked: false });
  }
  for (const path of followed.keys()) if (!records.some((r) => r.path === path)) followed.delete(path);
}

/** One tick: the table brought up to date, each agent's tree followed, its lineage saved, the sessions that ended closed. */
async function followTick(follower: Follower): Promise<void> {
  const { followed, table, options } = follower;
  const live = [...followed.values()].filter((e) => e.endedAt === undefined);
  follower.parentCommands = new Map();
  try {
    // A new agent's tree is walked whole once, on a table read whole (nothing in it is stale).
    await table.tick(live.some((e) => !e.walked));
  } catch (err) {
    options.logger.warn({ error: (err as Error).message }, 'reading the process table failed; trying again next tick');
    return;
  }
  const now = Date.now();
  const following = await stillRunning(follower, live, now);
  const agentKeys = new Set([...followed.values()].map((e) => agentKeyOf(e.record)));
  await resettle(follower, agentKeys);
  if (following.some((e) => !e.walked)) {
    const children = table.childrenByParent();
    for (const entry of following.filter((e) => !e.walked)) {
      await walkTree(entry, children, agentKeys, (c) => classify(follower, c, agentKeys), (r) => isHost(follower, entry, r));
      entry.walked = true;
    }
  }
  if (following.length > 0) await adoptNewcomers(following, table, (c) => classify(follower, c, agentKeys), (p) => follower.reader.startTimeToEpochMs(p.startTime), (entry, r) => isHost(follower, entry, r));
  await saveAndClose(follower, now);
}

/** The entries whose agent still runs; the others are marked ended now. */
async function stillRunning({ table }: Follower, live: readonly Followed[], now: number): Promise<Followed[]> {
  const following: Followed[] = [];
  for (const entry of live) {
    const { record } = entry;
    const agent = await table.current(record.agentPid);
    // Unreadable is not gone: followed on. A zombie is gone.
    if (agent !== null && (!agent?.alive || agent.startTime !== record.agentStartTime)) entry.endedAt = now;
    else following.push(entry);
  }
  return following;
}

/** What may not have exec'd when it was adopted last tick is looked at again: the keep marker it exec'd with. */
async function resettle(follower: Follower, agentKeys: ReadonlySet<string>): Promise<void> {
  for (const entry of follower.followed.values()) {
    const unsettled = entry.unsettled;
    entry.unsettled = [];
    for (const r of unsettled) {
      const now = await follower.table.current(r.pid);
      if (!now || identityKey(now) !== identityKey(r) || !(await classify(follower, now, agentKeys)).keep) continue;
      r.keep = true;
      entry.unsaved.push(r); // appended again: the later line is the one read
    }
  }
}

/** Bounds and saves each lineage; closes each session whose agent exited `lingerMs` ago (or defers it while it goes on). */
async function saveAndClose(follower: Follower, now: number): Promise<void> {
  const { followed, table, options, reader, boot } = follower;
  const bounding = ++follower.ticks % BOUND_EVERY_TICKS === 0;
  for (const [path, entry] of followed) {
    if (bounding || entry.seen.size > LINEAGE_CAP) boundEntry(entry, table, options.logger);
    await saveLineage(path, entry, boot.id);
    if (entry.endedAt !== undefined && now - entry.endedAt >= follower.lingerMs && now >= (entry.deferredUntil ?? 0)) {
      const closed = await closeSession(entry.record, [...entry.seen.values()], new Date(entry.endedAt), options, reader);
      if (!closed) {
        if (entry.deferredUntil === undefined) {
          options.logger.info({ agent: entry.record.agent, session: entry.record.sessionId, agent_pid: entry.record.agentPid }, 'agent exited; its session goes on (resumed, or cannot be told over): its leftovers wait');
        }
        entry.deferredUntil = now + DEFERRED_RECHECK_MS;
        continue;
      }
      removeRecord(path);
      followed.delete(path);
    }
  }
}

/** A parent's command line, read once a tick. */
function parentCommand(follower: Follower, ppid: number): string | undefined {
  const { parentCommands } = follower;
  if (!parentCommands.has(ppid)) parentCommands.set(ppid, follower.reader.readCommandLine?.(ppid));
  return parentCommands.get(ppid);
}

/**
 * What a process of a tree is, read once when it is first seen (its command line, and the keep
 * markers of its environment): an agent — a registered one, or one recognised by its command line
 * (a new agent a person started inside a host the session left, a sub-agent), whose tree is its
 * own session's — and kept — its lineage says so, and what it starts is kept through it after it
 * exits (a kept launcher's daemon that scrubs its environment), as `rtrack run` keeps it.
 */
async function classify(follower: Follower, c: ProcessStatus, agentKeys: ReadonlySet<string>): Promise<Kind> {
  const { reader, definitions, keepRules } = follower;
  const command = reader.readCommandLine?.(c.pid);
  const env = await reader.readEnvMarkers(c.pid).catch(() => undefined);
  const keep = keepReasonOf(command ?? '', env, keepRules) !== undefined;
  return {
    agent: agentKeys.has(identityKey(c)) || (command !== undefined && definitions.some((a) => isAgentProcess(a, command))),
    keep,
    // By its program name now; by the file it runs only once that matters (isHost).
    host: sharedHostKind({ pid: c.pid, ppid: c.ppid, command: command ?? '', memoryMB: 0, isMCP: false, startTime: c.startTime }) !== undefined,
    // A fork caught before its exec carries its parent's command line and environment: judged again next tick.
    unsettled: !keep && reader.readCommandLine !== undefined && mayNotHaveExeced(command, parentCommand(follower, c.ppid)),
  };
}

/**
 * Whether a process of a tree is a multiplexer's server, by the file it runs, whatever its title —
 * read when it matters: when it is the parent (or the session's leader) of a newcomer, whose
 * adoption it decides. Most processes a tree starts never start one (a test loop's workers) and
 * die without its being read. Read once a process; a host it finds is written to the lineage.
 */
async function isHost(follower: Follower, entry: Followed, r: LineageRecord): Promise<boolean> {
  const { reader, hostChecked, table } = follower;
  if (r.host) return true;
  if (hostChecked.has(r) || !reader.readExecutable) return false;
  hostChecked.add(r);
  const now = await table.current(r.pid);
  if (!now || identityKey(now) !== identityKey(r)) return false; // gone: what it was is not known
  const executable = reader.readExecutable(r.pid);
  if (executable === undefined || sharedHostKind({ pid: r.pid, ppid: r.ppid, command: '', memoryMB: 0, isMCP: false, startTime: r.startTime, executable }) === undefined) return false;
  r.host = true;
  entry.unsaved.push(r); // appended again: the later line is the one read
  return true;
}

/**
 * Whether a record was written in another boot: it names no process of this one, so it is removed
 * with its files — nothing is looked at or reaped for it — and said in one line.
 */
function ofAnotherBoot(path: string, record: SessionRecord, boot: BootInfo, logger: Logger): boolean {
  if (recordBoot(record, boot) === 'this') return false;
  removeRecord(path);
  logger.info({ agent: record.agent, session: record.sessionId, agent_pid: record.agentPid, boot: record.bootId ?? 'unknown' }, 'a record of another boot: removed, nothing reaped');
  return true;
}

/** A record's saved lineage, when it is of this boot (a record of this boot may reuse the path of another boot's). */
function loadLineage(path: string, boot: BootInfo): Pick<Followed, 'seen' | 'fileLines'> {
  const saved = readLineage(path);
  const otherBoot = typeof saved.bootId === 'string' && boot.id !== undefined && saved.bootId !== boot.id;
  const entries = otherBoot ? [] : saved.entries;
  const current = saved.bootId !== undefined && saved.bootId === (boot.id ?? null);
  return { seen: new Map(entries.map((r) => [identityKey(r), r] as const)), ...(current ? { fileLines: saved.lines - 1 } : {}) };
}

/** Keeps of an entry's lineage what can still matter (rules/follower-state.ts, boundLineage). */
function boundEntry(entry: Followed, table: FollowedTable, logger: Logger): void {
  if (entry.seen.size === 0) return;
  const { kept, droppedAlive } = boundLineage([...entry.seen.values()], (e) => table.holds(e), LINEAGE_CAP);
  if (kept.length !== entry.seen.size) entry.seen = new Map(kept.map((e) => [identityKey(e), e] as const));
  if (droppedAlive > 0 && !entry.capped) {
    entry.capped = true;
    logger.warn({ agent: entry.record.agent, session: entry.record.sessionId, agent_pid: entry.record.agentPid, cap: LINEAGE_CAP }, 'the lineage is over its cap: the oldest processes of this agent are no longer followed');
  }
}

/**
 * Saves what is new of an entry's lineage: appended (one write), or the file rewritten whole
 * (atomically) when there is none of this boot yet or it has grown to twice what it keeps.
 */
async function saveLineage(path: string, entry: Followed, bootId: string | undefined): Promise<void> {
  const pending = entry.unsaved.filter((e) => entry.seen.has(identityKey(e)));
  entry.unsaved = [];
  const whole = entry.fileLines === undefined || entry.fileLines + pending.length > 2 * entry.seen.size + LINEAGE_SLACK;
  if (!whole && pending.length === 0) return;
  try {
    if (whole) {
      await writeLineage(path, bootId, [...entry.seen.values()]);
      entry.fileLines = entry.seen.size;
    } else {
      appendLineage(path, pending);
      entry.fileLines! += pending.length;
    }
  } catch {
    entry.fileLines = undefined; // written whole next time
  }
}

/** What the follower records of a process of a tree besides its identity (see classify in followSessions). */
interface Kind {
  agent: boolean;
  keep: boolean;
  /** A terminal multiplexer's server: what runs in it is not adopted through it. */
  host?: boolean;
  /** Not kept, but it may not have exec'd yet (rules/settling.ts): judged again next tick. */
  unsettled?: boolean;
}

/** Adds a process to an entry's lineage. */
function remember(entry: Followed, key: string, c: ProcessStatus, kind: Partial<Kind> = {}): void {
  const record: LineageRecord = { pid: c.pid, ppid: c.ppid, startTime: c.startTime, ...(kind.agent ? { agent: true } : {}), ...(kind.keep ? { keep: true } : {}), ...(kind.host ? { host: true } : {}) };
  entry.seen.set(key, record);
  entry.unsaved.push(record);
  if (kind.unsettled) entry.unsettled.push(record);
}

const agentKeyOf = (record: SessionRecord): string => identityKey({ pid: record.agentPid, startTime: record.agentStartTime });

/**
 * Records the agent's whole tree as the table has it: a child younger than its parent's pid holder
 * is not its child, and another registered agent's tree is that agent's own.
 */
async function walkTree(
  entry: Followed,
  children: Map<number, ProcessStatus[]>,
  agentKeys: ReadonlySet<string>,
  classify: (c: ProcessStatus) => Promise<Kind>,
  isHost: (r: LineageRecord) => Promise<boolean>,
): Promise<void> {
  const stack = [{ pid: entry.record.agentPid, startTime: entry.record.agentStartTime }];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    for (const c of children.get(parent.pid) ?? []) {
      if (c.startTime < parent.startTime) continue;
      const key = identityKey(c);
      if (entry.seen.has(key) || agentKeys.has(key)) continue;
      const { keep, unsettled, host } = await classify(c);
      remember(entry, key, c, { keep, unsettled, host });
      // A shared host's panes are whoever asked for them: not walked into.
      if ((children.get(c.pid)?.length ?? 0) > 0 && !(await isHost(entry.seen.get(key)!))) stack.push(c);
    }
  }
}

/**
 * Adds each process new this tick whose parent (as it is now) is an agent or in an agent's tree, or
 * that is in the session (setsid) of a process in an agent's tree: a command an agent's tool runs
 * as a session leader (Gemini CLI, opencode) that backgrounds a server with `nohup … &` and exits
 * leaves it re-parented before the next tick, but in the tool's session, which only its descendants
 * can be in (and whose pid is not reused while it has members). Passes repeat while they adopt
 * someone: a new child may be listed before its new parent.
 */
async function adoptNewcomers(
  following: Followed[],
  table: FollowedTable,
  classify: (c: ProcessStatus) => Promise<Kind>,
  startedAtMs: (p: ProcessStatus) => number,
  isHost: (entry: Followed, r: LineageRecord) => Promise<boolean>,
): Promise<void> {
  const kinds = new Map<string, Kind>();
  /** The session leader `sid` is, or was, one of the entry's tree: seen, and its pid not taken by another since. */
  const leaderSeen = async (entry: Followed, c: ProcessStatus): Promise<boolean> => {
    if (c.session === undefined || c.session === c.pid || c.session <= 1) return false;
    const holder = await table.current(c.session);
    if (holder === null) return false;
    if (holder) {
      const seen = entry.seen.get(identityKey(holder));
      return holder.startTime <= c.startTime && ((seen !== undefined && !seen.agent && !(await isHost(entry, seen))) || identityKey(holder) === agentKeyOf(entry.record));
    }
    // The leader exited. Its pid is not reused while its session has members — but once they are all
    // gone it may be, and a stranger's new session take it: a newcomer is the tree's only when it
    // started before the leader was found gone (a stranger's session starts after its pid was free).
    for (const r of entry.seen.values()) {
      if (r.pid !== c.session || r.startTime > c.startTime || r.agent || r.host) continue;
      const goneAt = table.goneAt(r);
      if (goneAt !== undefined && startedAtMs(c) <= goneAt) return true;
    }
    return false;
  };
  for (let pass = 0; pass < MAX_TREE_DEPTH; pass++) {
    let adopted = false;
    // `current` may add to the newcomers (a reused pid) while this runs: the length is read each time.
    for (let i = 0; i < table.newcomers.length; i++) {
      const c = table.newcomers[i]!;
      const key = identityKey(c);
      if (following.every((entry) => entry.seen.has(key))) continue;
      const parent = await table.current(c.ppid);
      if (!parent || c.startTime < parent.startTime) continue;
      const parentKey = identityKey(parent);
      for (const entry of following) {
        if (entry.seen.has(key)) continue;
        // In the tree: below the agent, or below one of its tree that is not an agent itself.
        // Not below a multiplexer's server: its panes are whichever client's asked for them.
        const parentSeen = entry.seen.get(parentKey);
        const inTree = parentKey === agentKeyOf(entry.record) || (parentSeen !== undefined && !parentSeen.agent && !(await isHost(entry, parentSeen)));
        if (!inTree && !(await leaderSeen(entry, c))) continue;
        if (!kinds.has(key)) kinds.set(key, await classify(c));
        // An agent born in the tree (a sub-agent, or one a person started in a host the session
        // made) is recorded — the gate needs that lineage to call it a leak once the session is
        // over — but what runs below it is its own session's, not adopted.
        remember(entry, key, c, kinds.get(key));
        adopted = true;
      }
    }
    if (!adopted) return;
  }
}

/**
 * What an ended session left, journalled (and with `reap`, reaped): its lineage still alive and its
 * marked processes that were left behind (re-parented, as scan judges them), each with the tree
 * below it — never anything in use (a live agent, below or hosting one, a live session's), kept or
 * rtrack's own. False, and nothing done, while the session goes on: a resumed session (the same
 * id, a new agent process) makes what the ended agent left part of it again.
 */
async function closeSession(record: SessionRecord, lineage: LineageRecord[], endedAt: Date, options: FollowOptions, reader: PlatformReader): Promise<boolean> {
  const look = await lookAtTable({ reader, agents: options.agents, keep: options.keep, keepSharedDaemons: options.keepSharedDaemons, state: options.state });
  const session = look.liveness.session(record.agent, record.sessionId);
  if (session && session.status !== 'over') return false;
  const { live, liveness } = look;
  const tree = processTree(look.snapshot.processes);
  // Kept as the table has it now, with the pipelines of kept processes (read for the session's
  // processes: those that carry its markers or that the follower saw), and through the lineage:
  // below a kept process that has exited.
  const lineageKeySet = new Set(lineage.map((r) => identityKey(r)));
  const candidates = look.snapshot.processes.filter((p) => lineageKeySet.has(identityKey(p)) || markersOf(p).some((m) => m.agent === record.agent && m.sessionId === record.sessionId));
  const piped = withPipelines(look, reader, candidates.map((p) => p.pid));
  const kept = new Set([...piped.kept, ...keptThroughLineage(tree, look.snapshot.processes, lineage, identityKey)]);
  // What a run's kept process may have started since the run ended (kept-runs.ts) is no session's leftover either.
  const bornAfterKept = look.bornAfterKept ?? new Map<number, string>();
  const lineageKeys = new Map(lineage.map((r) => [identityKey(r), r]));
  const exclude = new Set(look.own.keys());
  const agentKey = agentKeyOf(record);
  const taken = new Set<number>();
  // What the tree held for a session its agent left (/clear) is not this one's while that one is not over (resumed elsewhere).
  const otherSession = (p: ProcessInfo): boolean => {
    const earlier = lineageKeys.get(identityKey(p))?.session;
    return earlier !== undefined && earlier !== record.sessionId && (liveness.session(record.agent, earlier)?.status ?? 'over') !== 'over';
  };
  // What was not read whole, or is a shared host's (a multiplexer's server, a pane on its evidence), is never taken (whole-evidence.ts).
  const skip = (p: ProcessInfo): boolean =>
    taken.has(p.pid) || kept.has(p.pid) || bornAfterKept.has(p.pid) || exclude.has(p.pid) || liveness.inUse.has(p.pid) || identityKey(p) === agentKey || otherSession(p) || lineageNotWhole(p, live);
  const evidence = new Map<number, Set<Evidence>>();
  const add = (pid: number, why: Evidence): void => {
    const set = evidence.get(pid) ?? new Set<Evidence>();
    set.add(why);
    evidence.set(pid, set);
  };
  // By the session's markers, as scan sees them.
  if (session) for (const p of sessionLeftovers(session, { live, tree, inUse: liveness.inUse, kept, bornAfterKept, exclude, taken, session: liveness.session })) for (const e of p.evidence) add(p.pid, e);
  // By the lineage the follower recorded while the agent ran, with what runs below it now.
  for (const p of look.snapshot.processes) {
    if (!lineageKeys.has(identityKey(p)) || skip(p)) continue;
    add(p.pid, 'lineage');
    for (const d of subtree(tree, p, (q) => q === p || !skip(q)).slice(1)) add(d.pid, 'lineage');
  }
  if (evidence.size === 0) return true;
  const leaked: AttributedProcess[] = [...evidence].map(([pid, why]) => ({ ...live.get(pid)!, evidence: [...why].sort() }));
  leaked.sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  await measureCosts(leaked, { reader });
  const entry: JournalEntry = {
    agent: record.agent,
    sessionId: record.sessionId,
    ...(record.cwd ? { cwd: record.cwd } : {}),
    agentPid: record.agentPid,
    startedAt: record.startedAt,
    endedAt: endedAt.toISOString(),
    reason: record.endReason ?? 'agent exited',
    ...(record.bootId ? { bootId: record.bootId } : {}),
    leaked: leaked.map((p) => ({ pid: p.pid, identity: identityKey(p), command: p.command, ...(p.commandLine !== undefined && p.commandLine !== p.command ? { commandLine: p.commandLine } : {}), memoryMB: p.memoryMB, memoryBytes: p.memoryBytes, evidence: p.evidence, ...(p.cost ? { cost: p.cost } : {}) })),
  };
  if (options.reap) {
    // The journal is the record of every kill: what is about to be reaped is in it before the first
    // signal, and the outcome after; an entry without its outcome says reaping started.
    const id = `${record.agentPid}-${record.agentStartTime}-${Date.now().toString(36)}`;
    appendJournal(options.state, { ...entry, id, reaping: 'started' });
    entry.reaped = await reapOrphans(leaked, { reader, graceMs: options.graceMs, keep: options.keep, keepSharedDaemons: options.keepSharedDaemons, agents: options.agents, state: options.state, by: 'follower' });
    appendJournal(options.state, { outcomeOf: id, reaped: entry.reaped });
  } else appendJournal(options.state, entry);
  options.logger.info({ agent: record.agent, session: record.sessionId, leaked: leaked.length, reaped: entry.reaped?.length ?? 0 }, 'agent session ended and left processes');
  return true;
}
