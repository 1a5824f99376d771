// Kept processes: declared to outlive their task (an environment marker, a keep pattern, a shared
// per-user daemon). A process is kept when it or any ancestor is — in the snapshot, or in the
// lineage recorded while the task ran, where a scrubbed child's kept parent may be gone by now.
// Never leaks, never suspects, never signalled. Pure.
import type { EnvMarkers, KeepReason, LineageRecord, ProcessInfo } from '../types.js';
import { MAX_TREE_DEPTH } from './identity.js';
import { compileKeepPatterns, matchesAny, sharedDaemonOf } from './patterns.js';
import { subtree, type ProcessTree } from './tree.js';

/** What keeps a process besides its ancestors: keep patterns, and whether the shared per-user daemons are kept. */
export interface KeepRules {
  patterns: readonly RegExp[];
  sharedDaemons: boolean;
}

/**
 * Why a process is kept by itself, from its command line (the name when it has none) and its
 * environment's markers: RESOURCE_TRACKER_KEEP, or RESOURCE_TRACKER_TASK set empty; a keep pattern;
 * a shared per-user daemon. Undefined when nothing keeps it.
 */
export function keepReasonOf(command: string, env: EnvMarkers | undefined, rules: KeepRules): KeepReason | undefined {
  if (env?.keep || env?.task === '') return 'env';
  if (rules.patterns.length > 0 && matchesAny(command, rules.patterns)) return 'pattern';
  if (rules.sharedDaemons && sharedDaemonOf(command) !== undefined) return 'shared-daemon';
  return undefined;
}

/** What one config of a user says about keeping (config.ts: `keep`, `keep_shared_daemons`). */
export interface ConfigKeeping {
  keep: readonly string[];
  keepSharedDaemons: boolean;
}

/**
 * What a user's own configs keep of that user's processes beyond a look's own rules (a system-wide
 * watch judges every user's processes by its own config, each user's by theirs too): every keep
 * pattern of theirs, and the shared daemons when one of their configs keeps them and the look's
 * rules do not. A place where the user has no config file keeps by the defaults (shared daemons
 * kept); a user with none at all, too. Keeping never harms: their configs together keep all that
 * any of them keeps. Undefined when they keep nothing more. Patterns were checked by the config's
 * reader.
 */
export function ownersKeepRules(configs: readonly (ConfigKeeping | undefined)[], own: { sharedDaemons: boolean }): KeepRules | undefined {
  const all = configs.length === 0 ? [undefined] : configs;
  const patterns = [...new Set(all.flatMap((c) => c?.keep ?? []))];
  const sharedDaemons = !own.sharedDaemons && all.some((c) => c === undefined || c.keepSharedDaemons);
  if (patterns.length === 0 && !sharedDaemons) return undefined;
  return { patterns: compileKeepPatterns(patterns), sharedDaemons };
}

/** Pids of every process with a keep reason, and of all their descendants. */
export function keptPids(tree: ProcessTree<ProcessInfo>, processes: readonly ProcessInfo[]): Set<number> {
  const kept = new Set<number>();
  for (const p of processes) {
    if (!p.keepReason || kept.has(p.pid)) continue;
    for (const q of subtree(tree, p, (d) => !kept.has(d.pid))) kept.add(q.pid);
  }
  return kept;
}

/**
 * Pids of the live processes a lineage keeps — those whose record, or a recorded ancestor's, carried
 * a keep marker when first seen (the kept parent may have exited since) — and of all their
 * descendants now.
 */
export function keptThroughLineage(tree: ProcessTree<ProcessInfo>, processes: readonly ProcessInfo[], lineage: readonly LineageRecord[], identityOf: (p: ProcessInfo | LineageRecord) => string): Set<number> {
  const kept = new Set<number>();
  if (!lineage.some((r) => r.keep)) return kept;
  const byPid = lineageByPid(lineage);
  const byIdentity = new Map(lineage.map((r) => [identityOf(r), r]));
  for (const p of processes) {
    const record = byIdentity.get(identityOf(p));
    if (!record || kept.has(p.pid) || !keptInLineage(record, byPid)) continue;
    for (const q of subtree(tree, p, (d) => !kept.has(d.pid))) kept.add(q.pid);
  }
  return kept;
}

/**
 * One end of a channel a process holds: a pipe's — an anonymous pipe (`pipe:[inode]`, all of one
 * pipefs) or a named FIFO (its device and inode: the path may be gone or reused) — read or written;
 * or a Unix socket's, by its inode (which socket it is connected to is the kernel's to say: SocketPeers).
 */
export type PipeEnd =
  | {
      inode: number;
      /** The device of a named FIFO; absent for an anonymous pipe. */
      dev?: number;
      /** `r`: the read end, `w`: the write end, `rw`: both (a FIFO opened read-write). */
      end: 'r' | 'w' | 'rw';
    }
  | { socket: number }
  /**
   * A pseudo-terminal's end, by its index (`/dev/pts/<pty>`): `w` the master (`/dev/ptmx`: a terminal
   * host — script, unbuffer, expect, node-pty — whose exit hangs up the terminal), `r` the terminal
   * itself (a process running in it). A process in a kept process's terminal keeps that terminal's
   * host, as a reader keeps its writer.
   */
  | { pty: number; end: 'r' | 'w' };

/**
 * The connected Unix stream and seqpacket sockets, by inode, as the kernel's sock_diag tells them:
 * the inode of each one's peer (several when the account could be read more than one way: each
 * reading joins), and whether the socket carries a name — bound, as the server's end of a connection
 * it accepted on a listening socket carries the listener's path; a client's end and both ends of a
 * socket pair carry none. A listening socket is connected to nothing and joins nothing.
 */
export type SocketPeers = ReadonlyMap<number, { peers: readonly number[]; named: boolean }>;

/** What else keptByPipeline knows: the sockets' peers, and each process's parent. */
export interface PipelineContext {
  peers?: SocketPeers;
  parentOf?: (pid: number) => number | undefined;
}

/**
 * The processes kept with a kept one because they are its pipeline — the job it was started in
 * (`KEEP=1 npm run dev | tee dev.log &`): joined to it by a channel, and so on along the pipeline —
 * killing `tee` would kill the kept server with SIGPIPE; killing what feeds a server's stdin would
 * end it on EOF. A channel joins two processes that hold its opposite ends:
 *   - a pipe or a named FIFO: one reads it and the other writes it (two processes that both write
 *     one pipe — both inherited the same stdout — are not joined by it);
 *   - a connected Unix stream or seqpacket socket (a socket pair: Node's `stdio: 'pipe'`, ksh's
 *     pipelines, supervisors): the holders of its two ends, both ways (a socket is read and written).
 * Joining goes on from what it joined, except where dying is what the other end is built for — so
 * that a kept child keeps its parent, but not, through that parent, every sibling:
 *   - not from a process into its own child that writes a pipe it reads, or that holds the other end
 *     of a socket: a parent made that channel to hear from its child and outlives it by design —
 *     EOF is the child's exit, and the parents that give children socket pairs (Node and libuv,
 *     Python) ignore SIGPIPE. A child that reads a pipe its parent writes is followed (a
 *     `popen(…, "w")`'s reader: killing it would kill the parent with SIGPIPE);
 *   - not from the server's end of an accepted connection (a named end) to its client (an unnamed
 *     one): a server's clients come and go, they are not its pipeline. The client is joined to its
 *     server (the other way), and both ends named count as a pair.
 * The child of a kept process is kept anyway, so these limits matter only past the first step.
 * Pure: each process's channel ends, the sockets' peers and the tree in; pid → the kept pid it is
 * joined through out (only for processes not already kept).
 */
export function keptByPipeline(pipes: ReadonlyMap<number, readonly PipeEnd[]>, kept: ReadonlySet<number>, context: PipelineContext = {}): Map<number, number> {
  const { peers = new Map(), parentOf = () => undefined } = context;
  const holders = channelHolders(pipes);
  const through = new Map<number, number>();
  const queue = [...pipes.keys()].filter((pid) => kept.has(pid)).map((pid) => ({ pid, root: pid }));
  for (let i = 0; i < queue.length; i++) {
    const { pid, root } = queue[i]!;
    for (const e of pipes.get(pid) ?? []) {
      for (const q of partners(pid, e, holders, peers, parentOf)) {
        if (q === pid || kept.has(q) || through.has(q)) continue;
        through.set(q, root);
        queue.push({ pid: q, root });
      }
    }
  }
  return through;
}

/** Why a process is kept when it is a kept process's pipeline (keptByPipeline): the gate's and the report's words. */
export const pipelineReason = (root: number): string => `in the pipeline of kept pid ${root}`;

/** Whether a reason is pipelineReason's: such a process is kept alone, not with what it starts. */
export const isPipelineReason = (reason: string): boolean => /^in the pipeline of kept pid \d+$/.test(reason);

type Holders = Map<string, { pid: number; end: 'r' | 'w' | 'rw' }[]>;

/** A channel end's key: an anonymous pipe's inode, a FIFO's device and inode, a socket's inode, a pseudo-terminal's index. */
const channelKey = (e: PipeEnd): string => ('socket' in e ? `s${e.socket}` : 'pty' in e ? `t${e.pty}` : e.dev === undefined ? `p${e.inode}` : `f${e.dev}:${e.inode}`);

/** Who holds each channel end, and which way. */
function channelHolders(pipes: ReadonlyMap<number, readonly PipeEnd[]>): Holders {
  const holders: Holders = new Map();
  for (const [pid, ends] of pipes) {
    for (const e of ends) {
      const key = channelKey(e);
      const end = 'socket' in e ? 'rw' : e.end;
      (holders.get(key) ?? holders.set(key, []).get(key)!).push({ pid, end });
    }
  }
  return holders;
}

/** The processes one end of a channel joins to pid (keptByPipeline's rules of the way). */
function partners(pid: number, e: PipeEnd, holders: Holders, peers: SocketPeers, parentOf: (pid: number) => number | undefined): number[] {
  const childOf = (q: number): boolean => parentOf(q) === pid;
  if ('socket' in e) {
    const mine = peers.get(e.socket);
    if (!mine) return []; // not connected (listening, unconnected, or its account not read): joins nothing
    return mine.peers.flatMap((peer) => {
      const serverToClient = mine.named && !(peers.get(peer)?.named ?? false);
      return serverToClient ? [] : (holders.get(`s${peer}`) ?? []).map((h) => h.pid).filter((q) => !childOf(q));
    });
  }
  // A terminal's host is kept by what runs in its terminal (its exit hangs the terminal up); what
  // runs in a terminal is not the host's pipeline (its exit harms no host): one way only.
  if ('pty' in e && e.end === 'w') return [];
  const reads = e.end !== 'w';
  const writes = e.end !== 'r';
  return (holders.get(channelKey(e)) ?? []).filter((h) => {
    const theyRead = h.end !== 'w';
    const theyWrite = h.end !== 'r';
    if (childOf(h.pid)) return writes && theyRead; // only a child that reads what its parent writes
    return (reads && theyWrite) || (writes && theyRead);
  }).map((h) => h.pid);
}

/** A lineage's records by pid: a pid can be several processes' over a long session (reused). */
export function lineageByPid(lineage: Iterable<LineageRecord>): Map<number, LineageRecord[]> {
  const byPid = new Map<number, LineageRecord[]>();
  for (const r of lineage) {
    const list = byPid.get(r.pid);
    if (list) list.push(r);
    else byPid.set(r.pid, [r]);
  }
  return byPid;
}

/**
 * Whether a lineage record or one of its recorded ancestors carried the keep marker. A record's
 * parent is the latest process its parent pid named that started no later than it.
 */
export function keptInLineage(record: LineageRecord | undefined, byPid: ReadonlyMap<number, readonly LineageRecord[]>): boolean {
  for (let depth = 0; record && depth < MAX_TREE_DEPTH; depth++) {
    if (record.keep) return true;
    const child: LineageRecord = record;
    let parent: LineageRecord | undefined;
    for (const r of byPid.get(child.ppid) ?? []) if (r.startTime <= child.startTime && (!parent || r.startTime > parent.startTime)) parent = r;
    record = parent;
  }
  return false;
}
