// `scan`: one snapshot with every environment read, analysed for leaks of past sessions.
import { basename } from 'node:path';
import type { UserState } from '../files.js';
import { cgroup2Mount, findRunGroups, RUN_GROUP_PREFIX, RunCgroup } from '../platform/cgroup.js';
import { costTotals } from '../rules/cost.js';
import { lookAtTable, withPipelines, type UsersOfLook } from './table-look.js';
import { leakCostTotals, measureCosts, type CostCache, type LeakCostTotals } from '../tracking/leak-cost.js';
import { BlockBudget } from '../event-loop.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { byPid, identityKey, startKey } from '../rules/identity.js';
import { BYTES_PER_MB } from '../rules/memory.js';
import { analyzeMachine, leftBySession, portCandidates, type LeakGroup, type MachineScan } from '../rules/machine-leaks.js';
import { portHolders, type PortHolder } from '../rules/port-holders.js';
import { holdsRunFile, parseTaskTag, UNKNOWN_PID_NAMESPACE } from '../tracking/task-tag.js';
import type { AgentConfig, ProcessInfo, ProcessSnapshot, ProcessUser, TaskOwner } from '../types.js';
import { refusalOf } from '../rules/gate.js';
import { whyNotReaped, type NotReaped } from '../rules/not-reaped.js';
import { fullCommand } from '../rules/patterns.js';
import { canSignal } from '../rules/users.js';

/** With a cache (`rtrack watch`), how long a leak's measured cost is reused before it is read again. */
export const COST_MAX_AGE_MS = 30_000;

/** Options of `scanMachine()`. */
export interface ScanOptions {
  /** Report every re-parented tree, not only agent-like ones. */
  all?: boolean;
  /** Keep patterns (regular expressions) for command lines. */
  keep?: readonly string[];
  /** Keep the built-in shared per-user daemons (default true). */
  keepSharedDaemons?: boolean;
  /**
   * Carried from one scan to the next (`rtrack watch`): a process whose identity was seen before
   * keeps the command line and environment markers read then — an environment does not change
   * after exec — so each scan reads `environ` of new processes only. A leak's cost (PSS, CPU, ports)
   * is read again once it is COST_MAX_AGE_MS old (a 1,000-process leak takes 100 ms to read).
   */
  cache?: { previous?: ProcessSnapshot; costs?: CostCache };
  /**
   * For scans a few seconds apart: the reader keeps each process's `stat` descriptor open for the
   * next scan (Linux; half the CPU of a scan, for about 4 KiB of kernel memory a process, at most
   * 4,096 of them). `rtrack watch` asks for it at intervals under 15 s.
   */
  keepOpen?: boolean;
  /** How long CPU use is sampled for the reported leaks, in ms (default 200; 0: no sample, the share since each process started: free). */
  cpuSampleMs?: number;
  /**
   * How many suspected processes have their cost read (PSS, USS, ports, CPU: about 100 µs a process
   * in the kernel), whole trees, the largest by RSS first (at least one tree); the others show their
   * RSS. Default: every one. Certain leaks always have theirs read.
   */
  suspectCostBudget?: number;
  /** Where the cgroup v2 hierarchy is mounted (default: found in /proc/self/mountinfo), to look for leftover run groups. */
  cgroupMount?: string;
  /** Agents of your own, besides the built-in ones (Claude Code, Codex), whose session markers count. */
  agents?: readonly AgentConfig[];
  /** rtrack's state directory (agents registered by hooks, the follower lock); default `$XDG_STATE_HOME/rtrack`. */
  state?: string;
  /** Every state directory to read, each with its user (a system-wide watch: every user's); default `[state]`. */
  states?: readonly UserState[];
  /**
   * A system-wide watch's users: their state directories (instead of `states`) and what their own
   * configs keep of their processes, read once the table is (table-look.ts UsersOfLook).
   * @internal
   */
  userFiles?: UsersOfLook;
  /**
   * Whose leaks are reported: `all` (default) or `mine` — the groups holding a process the calling
   * user may signal (for root: every one). Either way each reported process carries its `user`.
   */
  users?: 'mine' | 'all';
  /**
   * Processes a person names by their command line (`scan --reap --match`): each one that matches
   * and is not reaped by naming it (not a suspected tree's root, not a certain leak) is listed in
   * `notReaped` with why.
   */
  match?: RegExp;
  /**
   * Who listens on this port (`rtrack scan --port`): every process's sockets are read — costly
   * (each one's open files), so only when asked — and `portHolders` names each holder.
   */
  port?: number;
  reader?: PlatformReader;
}

/** What a kind of leak adds up to: its groups, processes, and what ending them gives back (PSS; RSS where PSS could not be read) beside their RSS. */
export type LeakTotals = { groups: number; processes: number; rssMB: number } & LeakCostTotals;

/** What `rtrack scan --json` prints: the machine's certain and suspected leaks and kept processes. */
export interface ScanReport extends MachineScan {
  timestamp: Date;
  /** The scan's own PID namespace (Linux): a tag owner's `pidNamespace` that differs ran inside a container. */
  pidNamespace?: string;
  /** Problems that limit the scan (e.g. environments unreadable on this OS: no certain leaks). */
  warnings: string[];
  /** Run groups (`rtrack-<tag>`) left in the cgroup hierarchy by runs that could not remove them (rtrack was SIGKILLed); `runOver`: their members are certain leaks, and `scan --reap` removes them. */
  leftoverCgroups: { path: string; tag: string; members: number; runOver: boolean }[];
  /** The certain and suspected leaks added up, so that a script need not (scanMachine always sets it). */
  leakTotals?: { certain: LeakTotals; suspected: LeakTotals };
  /** With `port`: every process listening on it, leaks first. */
  portHolders?: PortHolder[];
  /** With `port`: how many processes' sockets could not be read (other users'). */
  portUnreadable?: number;
  /** The user the scan ran as (where the OS has users). */
  scannedAs?: ProcessUser;
  /** Whose leaks are reported (ScanOptions.users; scanMachine always sets it). */
  whose?: 'mine' | 'all';
  /** With `users: 'mine'`: the groups left out because none of their processes is the scanning user's. */
  otherUsers?: { groups: number; processes: number };
  /** With `match`: the processes it matches that naming them does not reap, each with why (the gate's words where the gate refuses it). */
  notReaped?: (Pick<ProcessInfo, 'pid' | 'ppid' | 'command' | 'user'> & NotReaped)[];
}

/**
 * Scans the whole machine for leaks of past sessions: one snapshot with every environment read,
 * then the owners of the tags found are looked up (see the README: nothing unreadable counts as over).
 */
export async function scanMachine(options: ScanOptions = {}): Promise<ScanReport> {
  const reader = options.reader ?? platformReader();
  const previous = options.cache?.previous;
  // One judged look, as the reaper's gate takes it: what is in use and what is rtrack's own.
  const look = await lookAtTable({ reader, previous, agents: options.agents, keep: options.keep, keepSharedDaemons: options.keepSharedDaemons, keepOpen: options.keepOpen, state: options.state, states: options.states, userFiles: options.userFiles });
  const { snapshot } = look;
  if (options.cache) options.cache.previous = snapshot;
  const runGroups = leftoverRunGroups(options.cgroupMount);
  const now = Date.now();
  let pidNamespace: string | undefined;
  try {
    pidNamespace = reader.readPidNamespace?.(process.pid)?.namespace;
  } catch {
    pidNamespace = undefined; // then every tag with a namespace counts as another namespace's
  }
  const ownerOf = await ownerLocator(snapshot, reader, pidNamespace, runGroups.map((g) => g.tag));
  const { analysis, piped } = await judgeMachine({ look, reader, options, runGroups, ownerOf, now });
  // Whose processes: each reported one's user; with `mine`, other users' groups are left out (and not measured).
  const scannedAs = scanningUser(reader);
  const userOf = usersReader(reader);
  const withUser = <T extends ProcessInfo>(p: T): T => {
    const user = userOf(p.pid);
    if (user) p.user = user;
    return p;
  };
  for (const g of [...analysis.certain, ...analysis.suspected]) for (const p of g.processes) withUser(p);
  analysis.kept = analysis.kept.map((p) => withUser({ ...p }));
  const unfiltered = { certain: analysis.certain, suspected: analysis.suspected, kept: analysis.kept };
  const users = options.users ?? 'all';
  const otherUsers = users === 'mine' && scannedAs ? leaveOutOthers(analysis, scannedAs) : undefined;
  await measureReported(analysis, options, reader);
  for (const group of analysis.certain) {
    const cwd = group.session ? reader.readCwd?.(group.root.pid) : undefined;
    if (group.session && cwd !== undefined) group.session.cwd = cwd;
  }
  const warnings = [...(snapshot.warnings ?? [])];
  if (!reader.readsEnvironment) warnings.push(`task tags cannot be read from other processes on ${reader.platform}: no certain leaks, suspected trees only`);
  const report: ScanReport = {
    timestamp: snapshot.timestamp,
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
    ...(scannedAs ? { scannedAs } : {}),
    whose: users,
    ...(otherUsers ? { otherUsers } : {}),
    warnings,
    ...analysis,
    leftoverCgroups: leftoverCgroupsOf(runGroups, analysis, ownerOf, warnings),
    leakTotals: { certain: leakTotals(analysis.certain), suspected: leakTotals(analysis.suspected) },
  };
  // Why a process a person names is not reaped: the gate's refusal from the judged look first, as
  // the gate judges what a person named (`--match … --yes`).
  const whyNot = (p: ProcessInfo): NotReaped | undefined =>
    whyNotReaped(p, { refusal: (pid) => refusalOf(pid, piped, { named: true }), certain: unfiltered.certain, suspected: unfiltered.suspected, live: look.live, ...(scannedAs ? { by: scannedAs } : {}) });
  if (options.match) report.notReaped = notReapedByName(snapshot, options.match, withUser, whyNot);
  if (options.port !== undefined) await addPortHolders(report, { snapshot, reader, unfiltered, port: options.port, withUser, whyNot });
  return report;
}

/**
 * The machine's leaks from the judged look: certain, suspected and kept, judged again where a kept
 * process keeps its pipeline; `piped`: the look with those pipelines.
 */
async function judgeMachine(ctx: {
  look: Awaited<ReturnType<typeof lookAtTable>>;
  reader: PlatformReader;
  options: ScanOptions;
  runGroups: { tag: string; pids: number[] }[];
  ownerOf: Awaited<ReturnType<typeof ownerLocator>>;
  now: number;
}): Promise<{ analysis: MachineScan; piped: Awaited<ReturnType<typeof lookAtTable>> }> {
  const { look, reader, options, runGroups, ownerOf, now } = ctx;
  const { snapshot } = look;
  // A re-parented process that listens on a port is a suspect when it was started from someone's
  // session: the sessions and sockets of the re-parented candidates are read, theirs only.
  const listeningSessions = await listeningCandidates(reader, portCandidates(snapshot.processes).filter((p) => !look.own.has(p.pid)));
  const analyze = (kept: ReadonlySet<number>): MachineScan =>
    analyzeMachine(snapshot, {
      all: options.all,
      exclude: new Set(look.own.keys()),
      ageSeconds: (startTime) => (now - startTime) / 1000,
      parseTag: parseTaskTag,
      ownerPid: ownerOf,
      runGroups,
      agents: look.agents,
      liveness: look.liveness,
      kept,
      bornAfterKept: look.bornAfterKept,
      journalled: look.journalled,
      listeningSessions,
    });
  let analysis = analyze(look.kept);
  // A kept process keeps its pipeline (`KEEP=1 server | tee log`): read for the certain leaks only.
  const piped = withPipelines(look, reader, analysis.certain.flatMap((g) => g.processes.map((p) => p.pid)));
  if (piped.kept.size > look.kept.size) analysis = analyze(piped.kept);
  return { analysis, piped };
}

/** With `users: 'mine'`: leaves out of the analysis the groups none of whose processes the scanning user may signal; what was left out. */
function leaveOutOthers(analysis: MachineScan, scannedAs: ProcessUser): { groups: number; processes: number } | undefined {
  let otherUsers: { groups: number; processes: number } | undefined;
  const mine = (g: LeakGroup): boolean => g.processes.some((p) => canSignal(scannedAs, p));
  const left = [...analysis.certain, ...analysis.suspected].filter((g) => !mine(g));
  if (left.length > 0) otherUsers = { groups: left.length, processes: left.reduce((n, g) => n + g.processes.length, 0) };
  analysis.certain = analysis.certain.filter(mine);
  analysis.suspected = analysis.suspected.filter(mine);
  analysis.kept = analysis.kept.filter((p) => canSignal(scannedAs, p));
  return otherUsers;
}

/** What the reported leaks cost: read for them only (the suspected trees within the budget), and added up per group. */
async function measureReported(analysis: MachineScan, options: ScanOptions, reader: PlatformReader): Promise<void> {
  const costs = options.cache ? (options.cache.costs ??= { maxAgeMs: COST_MAX_AGE_MS, entries: new Map() }) : undefined;
  await measureCosts([...analysis.certain, ...withinBudget(analysis.suspected, options.suspectCostBudget)].flatMap((g) => g.processes), { reader, sampleMs: options.cpuSampleMs, shareSinceStart: true, cache: costs });
  for (const group of [...analysis.certain, ...analysis.suspected]) {
    if (!group.processes.some((p) => p.cost?.pssBytes !== undefined)) continue;
    const t = costTotals(group.processes);
    group.cost = { pssBytes: t.pssBytes, ussBytes: t.ussBytes, rssBytes: t.rssBytes, pssUnknown: t.pssUnknown, spinning: t.spinning, cpuPercent: t.cpuPercent };
    // The group's RSS is the one read with its PSS, a moment after the snapshot's: the two add up.
    group.totalMemoryBytes = t.rssBytes;
    group.totalMemoryMB = t.rssBytes / BYTES_PER_MB;
  }
}

/** The leftover run groups, each with whether its run is over (its members are certain leaks, or it is empty and its tag's owner gone). */
function leftoverCgroupsOf(runGroups: readonly { path: string; tag: string; pids: number[] }[], analysis: MachineScan, ownerOf: Awaited<ReturnType<typeof ownerLocator>>, warnings: string[]): ScanReport['leftoverCgroups'] {
  const certainTags = new Set(analysis.certain.map((g) => g.tag));
  const isOver = (tag: string): boolean => {
    const owner = parseTaskTag(tag);
    return owner !== undefined && ownerOf(owner, tag) === null;
  };
  // A run is frozen only from its task's exit to its verdicts' end (run-tracked.ts): a group still
  // frozen whose run is over was left so by an rtrack that was killed meanwhile — what it kept would
  // stay stopped for good. Thawed here, said in one warning (nothing is signalled).
  for (const g of runGroups) {
    const group = RunCgroup.open(g.path);
    if (!group.frozen() || !isOver(g.tag)) continue;
    group.thaw();
    warnings.push(`thawed ${g.path}: its run is over, and an rtrack killed while it judged the run had left it frozen`);
  }
  return runGroups.map((g) => ({ path: g.path, tag: g.tag, members: g.pids.length, runOver: certainTags.has(g.tag) || (g.pids.length === 0 && isOver(g.tag)) }));
}

/** A kind of leak added up. */
function leakTotals(groups: MachineScan['certain']): LeakTotals {
  const processes = groups.flatMap((g) => g.processes);
  const cost = leakCostTotals(processes);
  return { groups: groups.length, processes: processes.length, ...cost, rssMB: cost.rssBytes / BYTES_PER_MB };
}

/** The processes `match` names (not rtrack itself) that naming them does not reap, each with why. */
function notReapedByName(
  snapshot: ProcessSnapshot,
  match: RegExp,
  withUser: <T extends ProcessInfo>(p: T) => T,
  whyNot: (p: ProcessInfo) => NotReaped | undefined,
): NonNullable<ScanReport['notReaped']> {
  const notReaped: NonNullable<ScanReport['notReaped']> = [];
  for (const p of snapshot.processes) {
    if (p.pid === process.pid || !match.test(fullCommand(p))) continue;
    const q = withUser({ ...p });
    const why = whyNot(q);
    if (why) notReaped.push({ pid: q.pid, ppid: q.ppid, command: q.command, ...(q.user ? { user: q.user } : {}), ...why });
  }
  return notReaped;
}

/** Who listens on `port` (every process's sockets read), and how many processes' sockets could not be read, into the report. */
async function addPortHolders(
  report: ScanReport,
  ctx: {
    snapshot: ProcessSnapshot;
    reader: PlatformReader;
    unfiltered: Pick<MachineScan, 'certain' | 'suspected' | 'kept'>;
    port: number;
    withUser: <T extends ProcessInfo>(p: T) => T;
    whyNot: (p: ProcessInfo) => NotReaped | undefined;
  },
): Promise<void> {
  const { snapshot, reader, unfiltered, withUser, whyNot } = ctx;
  const sockets = reader.readListeningSockets?.(snapshot.processes.map((p) => p.pid)) ?? new Map();
  report.portHolders = portHolders(unfiltered, snapshot.processes, sockets, ctx.port).map((h) => {
    const holder = { ...h, process: withUser({ ...h.process }) };
    // (A member of a suspected tree is reaped with its tree: --port names no pattern that would leave it.)
    const why = whyNot(holder.process);
    return why && why.kind !== 'not-named' ? { ...holder, notReaped: why } : holder;
  });
  // A process whose sockets were not read and that still exists could not be read (another user's); one that exited meanwhile held nothing.
  const missing = reader.readListeningSockets ? snapshot.processes.filter((p) => !sockets.has(p.pid)).map((p) => p.pid) : [];
  const statuses = missing.length > 0 ? await reader.readStatuses(missing) : new Map();
  report.portUnreadable = missing.filter((pid) => statuses.has(pid)).length;
}

/** The user this process runs as, named where the system names it. */
function scanningUser(reader: PlatformReader): ProcessUser | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const name = reader.readUserName?.(uid);
  return name !== undefined ? { uid, name } : { uid };
}

/** Each process's user, read once per pid (Linux: the owner of /proc/[pid]), named once per uid. */
function usersReader(reader: PlatformReader): (pid: number) => ProcessUser | undefined {
  const byPid = new Map<number, ProcessUser | undefined>();
  const byUid = new Map<number, ProcessUser>();
  return (pid) => {
    if (byPid.has(pid)) return byPid.get(pid);
    const uid = reader.readOwner?.(pid);
    let user: ProcessUser | undefined;
    if (uid !== undefined) {
      user = byUid.get(uid);
      if (!user) {
        const name = reader.readUserName?.(uid);
        user = name !== undefined ? { uid, name } : { uid };
        byUid.set(uid, user);
      }
    }
    byPid.set(pid, user);
    return user;
  };
}

/** The suspected trees whose cost is read: the largest by RSS (they come sorted so), whole, while within the budget of processes; at least one. */
function withinBudget(suspected: readonly LeakGroup[], budget: number | undefined): readonly LeakGroup[] {
  if (budget === undefined) return suspected;
  const chosen: LeakGroup[] = [];
  let count = 0;
  for (const g of suspected) {
    if (chosen.length > 0 && count + g.processes.length > budget) continue;
    chosen.push(g);
    count += g.processes.length;
  }
  return chosen;
}

/**
 * Of the re-parented candidates, those started from someone's session that listen on a port, with
 * their session: one status read each, and the open files of those in a session (not a service's).
 */
async function listeningCandidates(reader: PlatformReader, candidates: readonly ProcessInfo[]): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  if (candidates.length === 0 || !reader.readListeningSockets) return found;
  const statuses = await reader.readStatuses(candidates.map((p) => p.pid));
  const inSession = candidates.filter((p) => {
    const status = statuses.get(p.pid);
    return status && identityKey(status) === identityKey(p) && leftBySession(p, status.session);
  });
  if (inSession.length === 0) return found;
  const sockets = reader.readListeningSockets(inSession.map((p) => p.pid));
  for (const p of inSession) if ((sockets.get(p.pid) ?? []).length > 0) found.set(p.pid, statuses.get(p.pid)!.session!);
  return found;
}

/**
 * Decides, for every tag in the snapshot, whether the run that owns it is in progress, as this scan
 * sees it: the pid (here) of its live owner, null when the run is over, undefined when it cannot be
 * told (then the tag is no evidence either way). Nothing that failed to read counts as over:
 *   - The owner is looked up by pid and start time. An owner that exists but cannot be read (listed
 *     but unreadable, or hidden by `hidepid`, where kill(pid, 0) says EPERM) is alive.
 *   - A registered run (rt3) is in progress only while its live owner holds its run file open; an
 *     owner whose open files cannot be read is taken to hold it.
 *   - A run in another PID namespace (inside a container) has a pid that means something else here:
 *     it is looked up by its namespace and its pid there (`NSpid`), read only when such tags exist.
 *     A namespace no visible process is in lies outside our view (an enclosing one), and a tag
 *     written without a readable namespace cannot be looked up: both are undefined.
 */
async function ownerLocator(
  snapshot: ProcessSnapshot,
  reader: PlatformReader,
  own: string | undefined,
  extraTags: readonly string[] = [],
): Promise<(owner: TaskOwner, tag: string) => number | null | undefined> {
  const live = byPid(snapshot.processes);
  const unreadable = new Set(snapshot.unreadable ?? []);
  const sameNamespace = (owner: TaskOwner): boolean => owner.pidNamespace === undefined || owner.pidNamespace === own;

  const tags = new Map<string, TaskOwner>();
  const foreign = new Set<string>();
  for (const tag of [...snapshot.processes.map((p) => p.taskTag), ...extraTags]) {
    if (!tag || tags.has(tag)) continue;
    const owner = parseTaskTag(tag);
    if (!owner) continue;
    tags.set(tag, owner);
    if (!sameNamespace(owner) && owner.pidNamespace !== UNKNOWN_PID_NAMESPACE) foreign.add(owner.pidNamespace!);
  }

  const seen = new Set<string>();
  // Start times of processes whose namespace could not be read (PID 1 is such on some machines): an
  // owner not found by its inner pid may be one of them, unless none started when it did. Start
  // times are ticks since boot, the same in every namespace.
  const namespaceUnreadable = new Set<string>();
  const byInnerPid = new Map<string, number>(); // `${namespace}/${pid there}` → pid here
  if (foreign.size > 0 && reader.readPidNamespace) {
    const budget = new BlockBudget();
    for (const p of snapshot.processes) {
      if (budget.spent()) await budget.yield();
      let ns;
      try {
        ns = reader.readPidNamespace(p.pid);
      } catch {
        namespaceUnreadable.add(startKey(p));
        continue;
      }
      if (!ns || !foreign.has(ns.namespace)) continue;
      seen.add(ns.namespace);
      byInnerPid.set(`${ns.namespace}/${ns.innerPid}`, p.pid);
    }
  }

  /** The owner's pid here when that pid holds the owner (alive), null when it does not, undefined when it cannot be told. */
  const ownerAlive = async (pid: number, owner: TaskOwner): Promise<number | null> => {
    const listed = live.get(pid);
    if (listed) return startKey(listed) === startKey(owner) ? pid : null;
    if (unreadable.has(pid)) return pid;
    // Not listed: born after the listing, exited since, or hidden from us (hidepid=2): ask again.
    let status;
    try {
      status = await reader.readStatus(pid);
    } catch {
      return pid; // exists, cannot be read: alive
    }
    if (status) return status.alive && startKey(status) === startKey(owner) ? pid : null;
    return processExists(pid) ? pid : null;
  };

  const verdicts = new Map<string, number | null | undefined>();
  for (const [tag, owner] of tags) {
    let here: number | null | undefined;
    if (owner.pidNamespace === UNKNOWN_PID_NAMESPACE) here = undefined;
    else if (sameNamespace(owner)) here = await ownerAlive(owner.pid, owner);
    else if (!seen.has(owner.pidNamespace!)) here = undefined;
    else {
      const inner = byInnerPid.get(`${owner.pidNamespace}/${owner.pid}`);
      here = inner !== undefined ? await ownerAlive(inner, owner) : namespaceUnreadable.has(startKey(owner)) || unreadable.size > 0 ? undefined : null;
    }
    if (typeof here === 'number' && owner.registered) {
      const files = reader.readOpenFiles?.(here);
      if (files !== undefined && !holdsRunFile(files, tag)) here = null; // the owner lives on, its run ended
    }
    verdicts.set(tag, here);
  }
  return (_owner, tag) => verdicts.get(tag);
}

/** Run groups left in the hierarchy, with the pids in each (Linux, where cgroup v2 is mounted). */
function leftoverRunGroups(mount: string | undefined): { path: string; tag: string; pids: number[] }[] {
  const where = mount ?? cgroup2Mount();
  if (where === undefined) return [];
  return findRunGroups(where).map((path) => ({ path, tag: basename(path).slice(RUN_GROUP_PREFIX.length), pids: RunCgroup.open(path).members() }));
}

/** kill(pid, 0): false only when no such process exists (ESRCH); EPERM means it exists, someone else's. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
