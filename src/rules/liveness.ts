// What is in use, and one meaning of "session over" — for scan, watch, the session follower and
// the reaper's gate alike. Pure: one look at the process table (with environment markers and
// command lines) and what the hooks registered in; verdicts out.
//
// A session is over when no live process is its agent:
//   - no process it marked names (CLAUDE_PID) a live agent process — every pid they name counts,
//     so a resumed session (same id, a new agent process) is live again;
//   - no agent process registered for it by a hook (SessionStart) is alive;
//   - no process holds its session file open (Codex's rollout file), whatever that process is called;
//   - none of its processes sits below a live agent process that gave it the session.
// It is unknown when liveness cannot be told: an agent pid that exists but cannot be read, session
// files that cannot be read, or no evidence at all. Unknown is never over: at most a suspect.
//
// A live agent process is an agent process (its command is an agent's, a hook registered it, or it
// holds a session's file) that was not itself left running by a session that is over: an agent the
// follower saw born in an over session's tree, that carries its markers and was re-parented (a
// sub-agent its session started in the background), is that session's leak, and the sessions it
// runs are over with it. Without that lineage it is live: markers alone do not tell a sub-agent from
// an agent a person started in a host the session left.
//
// A session may be known by registrations alone (Gemini CLI, whose children carry no session id):
// it is live while an agent registered for it lives, over when every one registered has exited.
//
// In use is every process that is a live agent, runs below one, hosts one (an ancestor: the tmux
// server, the shell a person started it from), or belongs to a session that is live (carries its
// markers, was seen by the follower in the tree of an agent registered for it, or runs below such a
// process). And a process that carries only an agent's presence variable (GEMINI_CLI=1: "started by
// some Gemini CLI", no session named) and that nothing above attributes is in use while a live agent
// process of that kind could own it: one of the same user (or a user that cannot be read), started
// no later than it, whose task tag is the process's own (a tool inherits its agent's environment).
// And a tmux server a terminal is attached to is in use with all it runs (a person works in a tmux a
// session left): markers say who started a host, not who uses it now.
import type { AgentMarker, ProcessInfo } from '../types.js';
import { isAgentProcess, markersOf, type AgentDefinition } from './agents.js';
import { byPid, identityKey, MAX_TREE_DEPTH, parentOf } from './identity.js';
import { isReparented } from './orphans.js';
import { fullCommand } from './patterns.js';
import { processTree, subtree, type ProcessTree } from './tree.js';
import { sharedHostKind } from './whole-evidence.js';

/** An agent process registered by its SessionStart hook (a record of the follower's state). */
export interface RegisteredAgent {
  /** The agent's name (`claude-code`, `gemini-cli`, …). */
  agent: string;
  sessionId: string;
  pid: number;
  /** Its identity (`identityKey` of its pid and start time in the OS's unit): a reused pid is not it. */
  identity: string;
  /** The identities (`identityKey`) of the processes the follower saw in its tree while it ran. */
  lineage?: readonly string[];
}

export interface LivenessInput {
  /** One look at every process, with command lines and agent markers. */
  processes: readonly ProcessInfo[];
  /** Pids that exist but could not be read. */
  unreadable?: readonly number[];
  /** The agents whose markers and processes count. */
  agents: readonly AgentDefinition[];
  /** Agent processes registered by hooks. */
  registered?: readonly RegisteredAgent[];
  /**
   * For agents with a session file (Codex): the pid of the process that holds this session's file
   * open, null when none does, undefined when that cannot be told (open files unreadable).
   */
  sessionHolder?: (agent: AgentDefinition, sessionId: string) => number | null | undefined;
  /** The uid a process runs as; undefined when that cannot be read (then any user could be its). */
  ownerOf?: (pid: number) => number | undefined;
  /**
   * What the follower journalled as ended sessions' leftovers, and what it saw in an agent's tree
   * for a session the agent has left since (/clear), by identity (`identityKey`): a session that
   * goes on (resumed) owns them.
   */
  journalled?: readonly { agent: string; sessionId: string; identities: readonly string[] }[];
  /**
   * Whether a marked process is in another PID namespace than the scan's (a session in a container,
   * seen from outside): then the agent pid it carries is one of that namespace, cannot be looked up
   * here, and is no evidence that the session is over. Asked only of processes whose agent pid would
   * say over.
   */
  agentPidElsewhere?: (pid: number) => boolean;
  /**
   * The Unix-domain sockets (path bound, connected, the owner-execute bit of the bound file) of the
   * terminal multiplexers in the table (sharedHostKind), where they could be read: one with a
   * client attached is in use.
   */
  unixSockets?: ReadonlyMap<number, readonly UnixSocket[]>;
}

/** A Unix-domain socket a process holds, as the reader tells it. */
export interface UnixSocket {
  /** The path it is bound to ('' for none; an accepted connection carries its listener's path). */
  path: string;
  connected: boolean;
  /** For a socket bound to a file: whether that file has its owner-execute bit (screen's "attached"). */
  ownerExecutable?: boolean;
}

/** A terminal multiplexer's process (server or client), by the file it runs or its program name. */
export function isTerminalMultiplexer(p: ProcessInfo): boolean {
  return sharedHostKind(p) !== undefined;
}

/**
 * Whether a multiplexer's server has a client attached. tmux, dtach, abduco and zellij: a
 * connected socket bound to a path, which is what an accepted connection on its listening socket is
 * (a client's own end is bound to nothing). screen: its socket file has the owner-execute bit while
 * a terminal is attached (screen(1), "detached" sessions have it cleared).
 */
export function hasAttachedClient(sockets: readonly UnixSocket[], kind = 'tmux'): boolean {
  if (kind === 'screen') return sockets.some((s) => !s.connected && s.path.startsWith('/') && s.ownerExecutable === true);
  return sockets.some((s) => s.connected && s.path !== '');
}

export type SessionStatus = 'live' | 'over' | 'unknown';

/** One agent session seen in the table, and whether it is over. */
export interface SessionVerdict {
  agent: AgentDefinition;
  sessionId: string;
  status: SessionStatus;
  /** When over: its agent pid is gone or taken, no process holds its file, or its agent is itself a leak. */
  over?: 'agent-gone' | 'session-file-closed' | 'agent-leaked';
  /** The agent pid its processes carried (the first found), when they carried one. */
  agentPid?: number;
  /** Its live agent processes (when live). */
  agentPids: number[];
  /** The processes that carry its markers. */
  members: ProcessInfo[];
  /** Live processes the follower saw in the tree of an agent registered for it (identity-checked). */
  lineage: ProcessInfo[];
}


export interface Liveness {
  sessions: SessionVerdict[];
  /** The verdict of one session, by agent name and session id. */
  session(agent: string, sessionId: string): SessionVerdict | undefined;
  /** Live agent processes: pid → the agent's name. */
  liveAgents: ReadonlyMap<number, string>;
  /** Agent processes left running by a session that is over: leaks, not live agents. */
  leakedAgents: ReadonlySet<number>;
  /** Every process in use (a live agent, below or hosting one, a live session's process or below one), with why. */
  inUse: ReadonlyMap<number, string>;
}

export { markersOf };

const keyOf = (agent: string, sessionId: string): string => `${agent}\0${sessionId}`;

export interface LivenessOptions {
  /**
   * Sessions (`agent`, `sessionId`) whose markers do not make a process in use: the reaper's own
   * (a run inside a live session reaps its own leaks, which inherited the session's markers).
   */
  ignoreSessions?: readonly AgentMarker[];
}

/** Judges every session in the table and finds every process in use. */
export function judgeLiveness(input: LivenessInput, options: LivenessOptions = {}): Liveness {
  const live = byPid(input.processes);
  const unreadable = new Set(input.unreadable ?? []);
  const tree = processTree(input.processes);
  const { agentOf, registeredAlive, registeredDead } = agentProcesses(input, live, unreadable);
  const sessions = sessionsOf(input);
  const { lineageOf, inLineage } = followedLineage(input);
  const holders = sessionFileHolders(input, sessions, live, agentOf);
  const facts: SessionFacts = { input, live, unreadable, agentOf, registeredAlive, registeredDead, sessions, lineageOf, holders };
  const { leaked, verdicts } = leakedAgents(facts);

  const liveAgents = new Map<number, string>();
  for (const [pid, name] of agentOf) if (!leaked.has(pid)) liveAgents.set(pid, name);
  const inUse = inUseOf(live, tree, liveAgents, [...verdicts.values()], new Set((options.ignoreSessions ?? []).map((m) => keyOf(m.agent, m.sessionId))));
  markAttached(input, { live, tree, inUse });
  markPresence(input, { live, tree, liveAgents, inLineage, inUse });
  const list = [...verdicts.values()];
  return {
    sessions: list,
    session: (agent, sessionId) => verdicts.get(keyOf(agent, sessionId)),
    liveAgents,
    leakedAgents: leaked,
    inUse,
  };
}

/** A session seen in the table: its agent, its id, and the processes that carry its markers. */
interface SessionMembers {
  agent: AgentDefinition;
  sessionId: string;
  members: ProcessInfo[];
}

/** What the sessions are judged by: one look at the table, the agent processes in it, the sessions, what the follower saw, the session files' holders. */
interface SessionFacts {
  input: LivenessInput;
  live: Map<number, ProcessInfo>;
  unreadable: ReadonlySet<number>;
  /** Agent processes: pid → the agent's name. */
  agentOf: Map<number, string>;
  registeredAlive: readonly RegisteredAgent[];
  /** Sessions (keyOf) with an agent process registered for them that is gone. */
  registeredDead: ReadonlySet<string>;
  sessions: ReadonlyMap<string, SessionMembers>;
  lineageOf: ReadonlyMap<string, ProcessInfo[]>;
  holders: ReadonlyMap<string, number | null | undefined>;
}

/**
 * Agent processes: by command line, by a hook's registration (identity-checked: a registered pid
 * now held by another process is gone, unless it cannot be read).
 */
function agentProcesses(
  input: Pick<LivenessInput, 'processes' | 'agents' | 'registered'>,
  live: ReadonlyMap<number, ProcessInfo>,
  unreadable: ReadonlySet<number>,
): { agentOf: Map<number, string>; registeredAlive: RegisteredAgent[]; registeredDead: Set<string> } {
  const agentOf = new Map<number, string>();
  for (const p of input.processes) {
    const command = fullCommand(p);
    const def = input.agents.find((a) => isAgentProcess(a, command));
    if (def) agentOf.set(p.pid, def.name);
  }
  const registeredAlive: RegisteredAgent[] = [];
  const registeredDead = new Set<string>();
  for (const r of input.registered ?? []) {
    const p = live.get(r.pid);
    if (p && identityKey(p) === r.identity) {
      registeredAlive.push(r);
      agentOf.set(p.pid, r.agent);
    } else if (!unreadable.has(r.pid)) registeredDead.add(keyOf(r.agent, r.sessionId));
  }
  return { agentOf, registeredAlive, registeredDead };
}

/** Sessions: every marker found (of the agents that count), and every registered one. */
function sessionsOf(input: Pick<LivenessInput, 'processes' | 'agents' | 'registered'>): Map<string, SessionMembers> {
  const definitions = new Map(input.agents.map((a) => [a.name, a]));
  const sessions = new Map<string, SessionMembers>();
  const sessionOf = (agentName: string, sessionId: string): SessionMembers => {
    const key = keyOf(agentName, sessionId);
    let s = sessions.get(key);
    if (!s) {
      const agent = definitions.get(agentName) ?? { name: agentName, process: /(?!)/ };
      s = { agent, sessionId, members: [] };
      sessions.set(key, s);
    }
    return s;
  };
  for (const p of input.processes) for (const m of markersOf(p)) if (definitions.has(m.agent)) sessionOf(m.agent, m.sessionId).members.push(p);
  for (const r of input.registered ?? []) sessionOf(r.agent, r.sessionId);
  return sessions;
}

/**
 * What the follower saw in the trees of the registered agents, alive now (the same identity), by
 * session (keyOf); `inLineage`: the pids of all of them.
 */
function followedLineage(input: Pick<LivenessInput, 'processes' | 'registered' | 'journalled'>): { lineageOf: Map<string, ProcessInfo[]>; inLineage: Set<number> } {
  const byIdentity = new Map(input.processes.map((p) => [identityKey(p), p] as const));
  const lineageOf = new Map<string, ProcessInfo[]>();
  const inLineage = new Set<number>();
  // And what the follower journalled as ended sessions' leftovers: a session resumed since owns them again.
  const seenBy = [
    ...(input.registered ?? []).map((r) => ({ agent: r.agent, sessionId: r.sessionId, identities: r.lineage ?? [] })),
    ...(input.journalled ?? []),
  ];
  for (const r of seenBy) {
    for (const key of r.identities) {
      const p = byIdentity.get(key);
      if (!p) continue;
      const list = lineageOf.get(keyOf(r.agent, r.sessionId)) ?? [];
      if (!list.includes(p)) list.push(p);
      lineageOf.set(keyOf(r.agent, r.sessionId), list);
      inLineage.add(p.pid);
    }
  }
  return { lineageOf, inLineage };
}

/** Session files, asked once per session: their holders are that session's agents (added to `agentOf`). */
function sessionFileHolders(
  input: Pick<LivenessInput, 'sessionHolder'>,
  sessions: ReadonlyMap<string, SessionMembers>,
  live: ReadonlyMap<number, ProcessInfo>,
  agentOf: Map<number, string>,
): Map<string, number | null | undefined> {
  const holders = new Map<string, number | null | undefined>();
  for (const [key, s] of sessions) {
    if (!s.agent.sessionFile || !input.sessionHolder || s.members.length === 0) continue;
    const holder = input.sessionHolder(s.agent, s.sessionId);
    holders.set(key, holder);
    if (typeof holder === 'number' && live.has(holder) && !agentOf.has(holder)) agentOf.set(holder, s.agent.name);
  }
  return holders;
}

/**
 * The agent processes left running by sessions that are over, and the verdicts that judge them so.
 * An agent process the follower saw born in the tree of a session that is over, and carrying that
 * session's markers, and re-parented — a sub-agent the session started in the background — is a
 * leak of that session (and so is every session it runs): judged again until nothing changes.
 * Markers alone are not enough: an agent a person starts in a host the session left (a tmux)
 * inherits the same markers.
 */
function leakedAgents(facts: SessionFacts): { leaked: Set<number>; verdicts: Map<string, SessionVerdict> } {
  const { agentOf, live, lineageOf } = facts;
  let leaked = new Set<number>();
  let verdicts = judgeSessions(facts, leaked);
  for (let round = 0; round < MAX_TREE_DEPTH; round++) {
    const next = new Set(leaked);
    for (const pid of agentOf.keys()) {
      const p = live.get(pid)!;
      if (next.has(pid) || !isReparented(p, live)) continue;
      const bornIn = (m: AgentMarker): boolean => verdicts.get(keyOf(m.agent, m.sessionId))?.status === 'over' && (lineageOf.get(keyOf(m.agent, m.sessionId)) ?? []).includes(p);
      if (markersOf(p).some(bornIn)) next.add(pid);
    }
    if (next.size === leaked.size) break;
    leaked = next;
    verdicts = judgeSessions(facts, leaked);
  }
  return { leaked, verdicts };
}

/** Every session's verdict, with `leaked` agent processes counted as leaks, not live agents. */
function judgeSessions(facts: SessionFacts, leaked: ReadonlySet<number>): Map<string, SessionVerdict> {
  const verdicts = new Map<string, SessionVerdict>();
  for (const [key, session] of facts.sessions) verdicts.set(key, judgeSession(facts, key, session, leaked));
  return verdicts;
}

/** What one session's evidence says, weighed step by step (an agent pid found makes it live whatever else is found). */
interface SessionEvidence {
  verdict: SessionVerdict;
  over: boolean;
  unknown: boolean;
  leaked: boolean;
}

/** One session's verdict: live, over, or unknown, from every kind of evidence the table holds. */
function judgeSession(facts: SessionFacts, key: string, session: SessionMembers, leaked: ReadonlySet<number>): SessionVerdict {
  const { agent, sessionId, members } = session;
  const verdict: SessionVerdict = { agent, sessionId, status: 'unknown', agentPids: [], members, lineage: facts.lineageOf.get(key) ?? [] };
  const evidence: SessionEvidence = { verdict, over: false, unknown: false, leaked: false };
  weighMarkedAgentPids(facts, session, evidence, leaked);
  weighRegisteredAgents(facts, session, evidence, leaked);
  if (facts.registeredDead.has(key)) evidence.over = true;
  weighSessionFile(facts, key, evidence, leaked);
  weighAgentsAbove(facts, session, evidence, leaked);
  return settleStatus(evidence);
}

/** The agent pids its processes name. */
function weighMarkedAgentPids(facts: SessionFacts, { agent, sessionId, members }: SessionMembers, evidence: SessionEvidence, leaked: ReadonlySet<number>): void {
  const { verdict } = evidence;
  for (const m of members) {
    const marker = markersOf(m).find((x) => x.agent === agent.name && x.sessionId === sessionId);
    const pid = marker?.agentPid;
    if (pid === undefined) continue;
    verdict.agentPid ??= pid;
    const says = markedAgentPidSays(facts, agent, m, pid);
    if (says === 'unknown') evidence.unknown = true;
    else if (says === 'over') evidence.over = true;
    else if (leaked.has(pid)) evidence.leaked = true;
    else if (!verdict.agentPids.includes(pid)) verdict.agentPids.push(pid);
  }
}

/** What the agent pid `pid` that marked process `m` carries says of its session. */
function markedAgentPidSays(facts: SessionFacts, agent: AgentDefinition, m: ProcessInfo, pid: number): 'agent' | 'over' | 'unknown' {
  const holder = facts.live.get(pid);
  // The pid is the agent's while its holder is that agent (by command or registration) and started
  // no later than the marked process. A holder that started later took the pid since: over. One
  // that started no later but does not look like the agent (renamed: `exec -a`, an SDK's cli.js
  // under node, a wrapper) may still be it: it cannot be told over.
  let says: 'agent' | 'over' | 'unknown';
  if (!holder) says = facts.unreadable.has(pid) ? 'unknown' : 'over';
  else if (holder.startTime > m.startTime) says = 'over';
  else says = isAgentProcess(agent, fullCommand(holder)) || facts.agentOf.get(pid) === agent.name ? 'agent' : 'unknown';
  // A pid carried by a process of another PID namespace is one of that namespace: not ours to look up.
  if (says === 'over' && facts.input.agentPidElsewhere?.(m.pid)) says = 'unknown';
  return says;
}

/** Agent processes a hook registered for it. */
function weighRegisteredAgents(facts: SessionFacts, { agent, sessionId }: SessionMembers, evidence: SessionEvidence, leaked: ReadonlySet<number>): void {
  const { verdict } = evidence;
  for (const r of facts.registeredAlive) {
    if (r.agent === agent.name && r.sessionId === sessionId) {
      if (leaked.has(r.pid)) evidence.leaked = true;
      else if (!verdict.agentPids.includes(r.pid)) verdict.agentPids.push(r.pid);
    }
  }
}

/** A process that holds its session file. */
function weighSessionFile(facts: SessionFacts, key: string, evidence: SessionEvidence, leaked: ReadonlySet<number>): void {
  const { verdict } = evidence;
  if (facts.holders.has(key)) {
    const holder = facts.holders.get(key);
    if (holder === undefined) evidence.unknown = true;
    else if (holder === null) {
      evidence.over = true;
      verdict.over = 'session-file-closed';
    } else if (leaked.has(holder)) evidence.leaked = true;
    else if (!verdict.agentPids.includes(holder)) verdict.agentPids.push(holder);
  }
}

/**
 * A marked process below a live agent of its kind that gave it the session (an MCP server,
 * which carries no agent pid); below a live agent of any kind, when nothing else tells.
 */
function weighAgentsAbove(facts: SessionFacts, { agent, sessionId, members }: SessionMembers, evidence: SessionEvidence, leaked: ReadonlySet<number>): void {
  const { verdict } = evidence;
  const liveAgent = (pid: number): boolean => facts.agentOf.has(pid) && !leaked.has(pid);
  for (const m of members) {
    const above = agentAbove(m, facts.live, facts.agentOf);
    if (!above || !liveAgent(above.pid)) continue;
    const gave = facts.agentOf.get(above.pid) === agent.name && !carries(above, agent.name, sessionId);
    if ((gave || (!evidence.over && !evidence.leaked)) && !verdict.agentPids.includes(above.pid)) verdict.agentPids.push(above.pid);
  }
}

/** The status the evidence weighed gives: live with an agent pid, else unknown with unknown evidence, else over with evidence of it. */
function settleStatus({ verdict, over, unknown, leaked }: SessionEvidence): SessionVerdict {
  if (verdict.agentPids.length > 0) verdict.status = 'live';
  else if (unknown) verdict.status = 'unknown';
  else if (over || leaked) {
    verdict.status = 'over';
    verdict.over ??= over ? 'agent-gone' : 'agent-leaked';
  }
  if (verdict.status !== 'over') delete verdict.over;
  return verdict;
}

/** The nearest agent process above `p`. */
function agentAbove(p: ProcessInfo, live: ReadonlyMap<number, ProcessInfo>, agentOf: ReadonlyMap<number, string>): ProcessInfo | undefined {
  let q = parentOf(p, live);
  for (let depth = 0; q && depth < MAX_TREE_DEPTH; depth++) {
    if (agentOf.has(q.pid)) return q;
    q = parentOf(q, live);
  }
  return undefined;
}

/** Whether `p` carries the markers of this session. */
const carries = (p: ProcessInfo, agent: string, sessionId: string): boolean => markersOf(p).some((m) => m.agent === agent && m.sessionId === sessionId);

function inUseOf(
  live: Map<number, ProcessInfo>,
  tree: ProcessTree<ProcessInfo>,
  liveAgents: ReadonlyMap<number, string>,
  sessions: readonly SessionVerdict[],
  ignore: ReadonlySet<string>,
): Map<number, string> {
  const inUse = new Map<number, string>();
  const mark = (pid: number, reason: string): void => {
    if (!inUse.has(pid)) inUse.set(pid, reason);
  };
  for (const [pid, name] of liveAgents) {
    const agent = live.get(pid);
    if (!agent) continue;
    mark(pid, `a live ${name} agent`);
    for (const d of subtree(tree, agent).slice(1)) mark(d.pid, `below a live ${name} agent (pid ${pid})`);
    let q = parentOf(agent, live);
    for (let depth = 0; q && q.pid > 1 && depth < MAX_TREE_DEPTH; depth++) {
      mark(q.pid, `hosts a live ${name} agent (pid ${pid})`);
      q = parentOf(q, live);
    }
  }
  for (const s of sessions) {
    if (s.status !== 'live' || ignore.has(keyOf(s.agent.name, s.sessionId))) continue;
    const reason = `belongs to the live ${s.agent.name} session ${s.sessionId}`;
    for (const m of s.members) for (const d of subtree(tree, m)) mark(d.pid, reason);
    const seen = `${reason} (the follower saw it in its agent's tree)`;
    for (const m of s.lineage) for (const d of subtree(tree, m)) mark(d.pid, seen);
  }
  return inUse;
}

/**
 * A terminal multiplexer a person is attached to (a tmux a session started, that someone then
 * attached to and works in) is in use with everything in it, whichever session left it.
 */
function markAttached(input: LivenessInput, ctx: { live: Map<number, ProcessInfo>; tree: ProcessTree<ProcessInfo>; inUse: Map<number, string> }): void {
  if (!input.unixSockets) return;
  for (const p of ctx.live.values()) {
    const kind = sharedHostKind(p);
    if (kind === undefined) continue;
    const sockets = input.unixSockets.get(p.pid);
    if (!sockets || !hasAttachedClient(sockets, kind)) continue;
    const reason = `a terminal is attached to it (${kind}, pid ${p.pid})`;
    for (const d of subtree(ctx.tree, p)) if (!ctx.inUse.has(d.pid)) ctx.inUse.set(d.pid, d.pid === p.pid ? `a terminal is attached to it (${kind})` : reason);
  }
}

/**
 * A process that carries an agent's presence variable (GEMINI_CLI=1), that nothing else put in use
 * and that the follower did not see in a registered agent's tree (its session decides then), is in
 * use while a live agent process of that kind could own it: of the same user (or one that cannot be
 * read), started no later than it, with the same task tag (a tool inherits its agent's environment).
 */
function markPresence(
  input: LivenessInput,
  ctx: { live: Map<number, ProcessInfo>; tree: ProcessTree<ProcessInfo>; liveAgents: ReadonlyMap<number, string>; inLineage: ReadonlySet<number>; inUse: Map<number, string> },
): void {
  const present = input.processes.filter((p) => p.startedBy !== undefined && p.startedBy.length > 0 && !ctx.inUse.has(p.pid) && !ctx.inLineage.has(p.pid));
  if (present.length === 0) return;
  const owners = new Map<number, number | undefined>();
  const ownerOf = (pid: number): number | undefined => {
    if (!owners.has(pid)) owners.set(pid, input.ownerOf?.(pid));
    return owners.get(pid);
  };
  for (const p of present) {
    if (ctx.inUse.has(p.pid)) continue; // below another one marked meanwhile
    for (const [pid, name] of ctx.liveAgents) {
      const agent = ctx.live.get(pid);
      if (!agent || !p.startedBy!.includes(name) || agent.startTime > p.startTime || (agent.taskTag ?? '') !== (p.taskTag ?? '')) continue;
      const a = ownerOf(pid);
      const b = ownerOf(p.pid);
      if (a !== undefined && b !== undefined && a !== b) continue;
      const reason = `may belong to the live ${name} agent (pid ${pid}): it carries ${input.agents.find((d) => d.name === name)?.presenceVar ?? 'its variable'}, which names no session`;
      for (const d of subtree(ctx.tree, p)) if (!ctx.inUse.has(d.pid)) ctx.inUse.set(d.pid, reason);
      break;
    }
  }
}
