// One look at the process table, judged: every process with its command line and environment
// markers as they are now, the agent sessions and whether each is over, what is in use, what is
// kept, and what is rtrack's own. What scan, watch, the session follower and the reaper's gate all
// decide from, so that they never disagree on what a live session is.
import { stateDirectory, type UserState } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { agentDefinitions, isAgentProcess, type AgentDefinition } from '../rules/agents.js';
import { ownProcesses, type GateView } from '../rules/gate.js';
import { byPid, identityKey } from '../rules/identity.js';
import { keptByPipeline, keptPids, keptThroughLineage, pipelineReason } from '../rules/keep.js';
import { bornAfterKeeping, type KeptRun } from '../rules/kept-runs.js';
import { isTerminalMultiplexer, judgeLiveness, markersOf, type Liveness, type RegisteredAgent } from '../rules/liveness.js';
import { fullCommand } from '../rules/patterns.js';
import { processTree, subtree, type ProcessTree } from '../rules/tree.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import type { JournalledLeftovers } from '../rules/machine-leaks.js';
import type { AgentConfig, AgentMarker, ProcessInfo, ProcessSnapshot } from '../types.js';
import { journalledLeftovers, readFollowerLock, readLineage, registeredSessions } from '../tracking/session-records.js';
import { keptInLook } from './kept-registry.js';

export interface LookOptions {
  reader?: PlatformReader;
  /** Agents of your own, besides the built-in ones. */
  agents?: readonly AgentConfig[];
  keep?: readonly string[];
  keepSharedDaemons?: boolean;
  /** rtrack's state directory (hook registrations, the follower lock); default `stateDirectory()`. */
  state?: string;
  /**
   * Every state directory to read, each with the user it must belong to (a system-wide watch: every
   * user's whose processes it judges); default `[state]`. Each is read as `state` is, alone.
   */
  states?: readonly UserState[];
  /** Sessions whose markers do not make a process in use (the reaper's own: see LivenessOptions). */
  ignoreSessions?: readonly AgentMarker[];
  /** An earlier look's snapshot (`rtrack watch`): environments are then read for new processes only. */
  previous?: ProcessSnapshot;
  keepOpen?: boolean;
  /** What each user's own files say (a system-wide watch): their state directories (instead of `states`) and their config's keeping. */
  userFiles?: UsersOfLook;
}

/**
 * A system-wide look's users (watch-scan.ts): each user's state directories, and what each user's
 * own config keeps of that user's processes — read once the table is, as the processes'
 * environments name where those files are.
 */
export interface UsersOfLook {
  /** Read each process's HOME, XDG_STATE_HOME and XDG_CONFIG_HOME (ProcessInfo.userDirectories) for `read`. */
  environments?: boolean;
  /** What the users' files say of this table, read once it is taken. */
  read(snapshot: ProcessSnapshot): UsersOfTable;
}

/** What the users' files say of one table (UsersOfLook.read). */
export interface UsersOfTable {
  /** Every state directory to read, each with the user it must belong to. */
  states: readonly UserState[];
  /**
   * Why the config of the user a process runs as keeps it (their keep patterns, their shared
   * daemons), with that user's uid; undefined when it does not. Absent when no user's config keeps
   * more than the look's own rules.
   */
  keptByOwner?: (p: ProcessInfo) => { uid: number; why: string } | undefined;
  /** The user a process of the table runs as; undefined when unknown. */
  ownerOf: (p: ProcessInfo) => number | undefined;
}

/** A judged look at the table. */
export interface TableLook extends GateView {
  snapshot: ProcessSnapshot;
  agents: AgentDefinition[];
  liveness: Liveness;
  /** What the follower journalled as ended sessions' leftovers (this boot's, from a trusted state directory). */
  journalled: JournalledLeftovers[];
}

/** Takes one snapshot with every environment read and judges it (see the module comment). */
export async function lookAtTable(options: LookOptions = {}): Promise<TableLook> {
  const reader = options.reader ?? platformReader();
  const agents = agentDefinitions(options.agents);
  const snapshot = await takeSnapshot({
    reader,
    previous: options.previous,
    environment: options.previous ? 'new' : 'all',
    keep: options.keep,
    keepSharedDaemons: options.keepSharedDaemons,
    agents,
    keepOpen: options.keepOpen,
    wholeCommandLines: 'read',
    userDirectories: options.userFiles?.environments,
  });
  const users = options.userFiles?.read(snapshot);
  const states = users?.states ?? options.states ?? [{ path: options.state ?? stateDirectory() }];
  // What runs kept, for as long as it lives, and what their kept processes may have started since (kept-registry.ts).
  const { kept: keptByRuns, runs: keptRuns } = await keptInLook(states, snapshot.processes, reader);
  return judgeLook(snapshot, { reader, agents, states, ignoreSessions: options.ignoreSessions, keptByRuns, keptRuns, ...(users ? { users } : {}) });
}

/** Judges a snapshot taken with agent markers (see lookAtTable). */
export function judgeLook(
  snapshot: ProcessSnapshot,
  options: {
    reader: PlatformReader;
    agents: AgentDefinition[];
    state?: string;
    states?: readonly UserState[];
    ignoreSessions?: readonly AgentMarker[];
    keptByRuns?: ReadonlyMap<string, { why: string; alone: boolean }>;
    /** The runs whose records those are (rules/kept-runs.ts): what carries their tag and was born after they judged may be their kept processes'. */
    keptRuns?: readonly KeptRun[];
    /** Each user's own files and keep rules (a system-wide watch: UserFiles). */
    users?: UsersOfTable;
  },
): TableLook {
  const { reader, agents } = options;
  const states = options.states ?? [{ path: options.state ?? stateDirectory() }];
  const live = byPid(snapshot.processes);
  const tree = processTree(snapshot.processes);
  // The hooks' registrations (of this boot, from a state directory that is the user's alone), with
  // what the follower saw of each agent's tree: a registered session's processes whatever they carry
  // (a child that scrubbed its environment, Gemini CLI's tools).
  // What a tree held for a session its agent has left since (/clear) is that session's.
  const earlier = new Map<string, { agent: string; sessionId: string; identities: string[] }>();
  // What runs below a process the follower saw kept (a kept launcher's scrubbed daemon, the launcher gone).
  const keptByLineage = new Set<number>();
  // A user's state speaks only of that user's processes: a lineage or a journal entry is the user's
  // own file, which anyone can write into their home, so an identity it names counts only where that
  // process runs as the state's user (a system-wide watch reads every user's; else any user could
  // name root's or another user's process and have it reaped as their session's leftover).
  const byIdentity = new Map(snapshot.processes.map((p) => [identityKey(p), p] as const));
  const owners = new Map<number, number | undefined>();
  const ownsIt = (uid: number | undefined, identity: string): boolean => {
    const p = byIdentity.get(identity);
    if (!p || uid === undefined || !reader.readOwner) return true; // not running (nothing to attribute), or no owners on this OS
    if (!owners.has(p.pid)) owners.set(p.pid, reader.readOwner(p.pid));
    return owners.get(p.pid) === uid;
  };
  const registered: RegisteredAgent[] = states.flatMap((state) => registeredSessions(state.path, reader, state.uid).map((r) => ({ ...r, uid: state.uid ?? process.getuid?.() }))).map(({ path, record, uid }) => {
    const lineage: string[] = [];
    const seen = readLineage(path).entries;
    // What it keeps, it keeps whoever's it is (keeping never harms); what it attributes, only the user's.
    for (const pid of keptThroughLineage(tree, snapshot.processes, seen, identityKey)) keptByLineage.add(pid);
    const entries = seen.filter((e) => ownsIt(uid, identityKey(e)));
    for (const e of entries) {
      if (e.session === undefined || e.session === record.sessionId) lineage.push(identityKey(e));
      else {
        const key = `${record.agent}\0${e.session}`;
        if (!earlier.has(key)) earlier.set(key, { agent: record.agent, sessionId: e.session, identities: [] });
        earlier.get(key)!.identities.push(identityKey(e));
      }
    }
    return { agent: record.agent, sessionId: record.sessionId, pid: record.agentPid, identity: identityKey({ pid: record.agentPid, startTime: record.agentStartTime }), lineage };
  });
  const ownerOf = reader.readOwner ? (pid: number): number | undefined => reader.readOwner!(pid) : undefined;
  const journalled = states.flatMap((state) => {
    const uid = state.uid ?? process.getuid?.();
    return journalledLeftovers(state.path, reader, state.uid).map((e) => ({ ...e, leaked: e.leaked.filter((l) => ownsIt(uid, l.identity)) }));
  });
  const liveness = judgeLiveness(
    {
      processes: snapshot.processes,
      unreadable: snapshot.unreadable,
      agents,
      registered,
      sessionHolder: sessionFileHolders(snapshot, reader),
      ...(ownerOf ? { ownerOf } : {}),
      agentPidElsewhere: agentPidsElsewhere(reader),
      ...(reader.readUnixSockets ? { unixSockets: reader.readUnixSockets(snapshot.processes.filter(isTerminalMultiplexer).map((p) => p.pid)) } : {}),
      journalled: [...journalled.map((e) => ({ agent: e.agent, sessionId: e.sessionId, identities: e.leaked.map((l) => l.identity) })), ...earlier.values()],
    },
    { ignoreSessions: options.ignoreSessions },
  );
  const extra = followerLockHolders(states, live, reader.readPidNamespaceId?.(process.pid));
  const kept = new Set([...keptPids(tree, snapshot.processes), ...keptByLineage]);
  const keptBecause = new Map<number, string>();
  if (options.keptByRuns) keepByRuns(snapshot, tree, options.keptByRuns, kept, keptBecause);
  if (options.users?.keptByOwner) keepByOwners(snapshot, tree, options.users, kept, keptBecause);
  const bornAfterKept = bornAfterKeeping(tree, live, options.keptRuns ?? [], kept);
  // What the follower saw in an agent's tree, or journalled: tied to its session whatever it carries.
  const tied = new Set<number>();
  for (const identity of [...registered.flatMap((r) => r.lineage ?? []), ...[...earlier.values()].flatMap((e) => e.identities), ...journalled.flatMap((e) => e.leaked.map((l) => l.identity))]) {
    const p = byIdentity.get(identity);
    if (p) tied.add(p.pid);
  }
  return { snapshot, agents, live, tree, liveness, journalled, kept, keptBecause, bornAfterKept, tied, own: ownProcesses(tree, live, process.pid, extra) };
}

/** The followers that hold a state's lock and run (identity-checked): rtrack's own, never signalled. */
function followerLockHolders(states: readonly UserState[], live: ReadonlyMap<number, ProcessInfo>, ns: string | undefined): { pid: number; reason: string }[] {
  const extra: { pid: number; reason: string }[] = [];
  for (const state of states) {
    const lock = readFollowerLock(state.path, ns);
    const holder = lock && live.get(lock.pid);
    if (holder && identityKey(holder) === identityKey(lock)) extra.push({ pid: lock.pid, reason: "the holder of rtrack's follower lock" });
  }
  return extra;
}

/** What runs kept (kept-registry.ts), with what runs below each — unless it is kept alone (by its pipeline). */
function keepByRuns(snapshot: ProcessSnapshot, tree: ProcessTree<ProcessInfo>, keptByRuns: ReadonlyMap<string, { why: string; alone: boolean }>, kept: Set<number>, keptBecause: Map<number, string>): void {
  for (const p of snapshot.processes) {
    const entry = keptByRuns.get(identityKey(p));
    if (entry === undefined) continue;
    const { why, alone } = entry;
    for (const d of alone ? [p] : subtree(tree, p)) {
      if (kept.has(d.pid)) continue;
      kept.add(d.pid);
      keptBecause.set(d.pid, d === p ? why : `below pid ${p.pid}, ${why}`);
    }
  }
}

/**
 * What each user's own config keeps (UsersOfLook.keptByOwner), with what runs below it as the same
 * user: a user's config speaks of that user's processes only, never of another's below them.
 */
function keepByOwners(snapshot: ProcessSnapshot, tree: ProcessTree<ProcessInfo>, users: UsersOfTable, kept: Set<number>, keptBecause: Map<number, string>): void {
  for (const p of snapshot.processes) {
    if (kept.has(p.pid)) continue;
    const owner = users.keptByOwner!(p);
    if (owner === undefined) continue;
    for (const d of subtree(tree, p)) {
      if (kept.has(d.pid) || (d !== p && users.ownerOf(d) !== owner.uid)) continue;
      kept.add(d.pid);
      keptBecause.set(d.pid, d === p ? owner.why : `below pid ${p.pid}, ${owner.why}`);
    }
  }
}

/**
 * Which processes the pipelines of kept ones keep (rules/keep.ts keptByPipeline): pid → the kept pid
 * it is joined through. Channels are read for the candidates (what a caller means to signal or
 * report), and for the kept processes only when a candidate holds one; the sockets' peers (one run
 * of `ss`) only when a candidate holds a socket and another process read holds one too: the cost is
 * per candidate, not per process of the table.
 */
export function pipelineKept(reader: PlatformReader, candidates: readonly number[], kept: readonly number[], parentOf: (pid: number) => number | undefined): Map<number, number> {
  if (!reader.readPipes || candidates.length === 0 || kept.length === 0) return new Map();
  const pipes = reader.readPipes(candidates);
  if (![...pipes.values()].some((ends) => ends.length > 0)) return new Map();
  for (const [pid, ends] of reader.readPipes(kept)) pipes.set(pid, ends);
  const holdsSocket = (pid: number): boolean => pipes.get(pid)?.some((e) => 'socket' in e) ?? false;
  const peers = candidates.some(holdsSocket) && [...pipes.keys()].filter(holdsSocket).length > 1 ? reader.readSocketPeers?.() : undefined;
  return keptByPipeline(pipes, new Set(kept), peers ? { peers, parentOf } : { parentOf });
}

/**
 * The look, with the pipelines of kept processes kept too (pipelineKept): of the given candidates,
 * those joined to a kept process by a channel. A process kept so is kept alone: what runs below it is
 * judged on its own (kept when it holds a channel the pipeline needs).
 */
export function withPipelines(look: TableLook, reader: PlatformReader, candidates: readonly number[]): TableLook {
  if (look.kept.size === 0) return look;
  const mine = candidates.filter((pid) => look.live.has(pid) && !look.kept.has(pid));
  const through = pipelineKept(reader, mine, [...look.kept].filter((pid) => look.live.has(pid)), (pid) => look.live.get(pid)?.ppid);
  if (through.size === 0) return look;
  const kept = new Set(look.kept);
  const keptBecause = new Map(look.keptBecause ?? []);
  for (const [pid, root] of through) {
    if (!look.live.has(pid) || kept.has(pid)) continue;
    kept.add(pid);
    keptBecause.set(pid, pipelineReason(root));
  }
  return { ...look, kept, keptBecause };
}

/**
 * Whether a marked process is in another PID namespace than this one (a session inside a container,
 * seen from the host): the agent pid it carries then means a process of that namespace. A namespace
 * that cannot be read counts as another. Read only when asked (liveness asks only of processes whose
 * agent pid would say the session is over), once per process.
 */
function agentPidsElsewhere(reader: PlatformReader): (pid: number) => boolean {
  const read = reader.readPidNamespaceId;
  if (!read) return () => false;
  const namespaceOf = (pid: number): string | undefined => {
    try {
      return read.call(reader, pid);
    } catch {
      return undefined;
    }
  };
  let own: string | undefined | null = null;
  const known = new Map<number, boolean>();
  return (pid) => {
    if (own === null) own = namespaceOf(process.pid);
    let elsewhere = known.get(pid);
    if (elsewhere === undefined) {
      const ns = namespaceOf(pid);
      elsewhere = ns === undefined || own === undefined || ns !== own;
      known.set(pid, elsewhere);
    }
    return elsewhere;
  };
}

/**
 * For agents that hold a session file open (Codex's rollout file): which process holds which
 * session's file — whatever it is called (a release binary not renamed, a wrapper). The agent
 * processes recognised by name are asked first; when none holds it, every process of the user
 * that runs the session's processes. None holds it: null; a process whose open files could not be
 * read (and that is not gone) might: undefined.
 */
function sessionFileHolders(snapshot: ProcessSnapshot, reader: PlatformReader): (agent: AgentDefinition, sessionId: string) => number | null | undefined {
  if (!reader.readOpenFiles) return () => undefined;
  const files = new Map<number, string[] | 'unreadable'>();
  const filesOf = (pid: number): string[] | 'unreadable' | undefined => {
    let f = files.get(pid);
    if (f === undefined) {
      const read = reader.readOpenFiles!(pid);
      // undefined: gone (then it holds nothing) or not readable
      f = read ?? (reader.readOwner?.(pid) === undefined ? [] : 'unreadable');
      files.set(pid, f);
    }
    return f;
  };
  const owners = new Map<number, number | undefined>();
  const ownerOf = (pid: number): number | undefined => {
    if (!owners.has(pid)) owners.set(pid, reader.readOwner?.(pid));
    return owners.get(pid);
  };
  return (agent, sessionId) => {
    if (!agent.sessionFile) return undefined;
    const pattern = agent.sessionFile(sessionId);
    const members = snapshot.processes.filter((p) => markersOf(p).some((m) => m.agent === agent.name && m.sessionId === sessionId));
    const named = snapshot.processes.filter((p) => isAgentProcess(agent, fullCommand(p)));
    const users = new Set(members.map((m) => ownerOf(m.pid)).filter((u): u is number => u !== undefined));
    const others = snapshot.processes.filter((p) => !named.includes(p) && users.has(ownerOf(p.pid) ?? -1));
    let unknown = users.size === 0 && members.length > 0;
    for (const p of [...named, ...others]) {
      const f = filesOf(p.pid);
      if (f === 'unreadable') unknown = true;
      else if (f?.some((path) => pattern.test(path))) return p.pid;
    }
    return unknown ? undefined : null;
  };
}
