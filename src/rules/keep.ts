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

/** One end of a pipe a process holds: the pipe's inode, and whether it reads or writes it. */
export interface PipeEnd {
  inode: number;
  /** `r`: the read end, `w`: the write end, `rw`: both (a FIFO opened read-write). */
  end: 'r' | 'w' | 'rw';
}

/**
 * The processes kept with a kept one because they are its pipeline — the job it was started in
 * (`KEEP=1 npm run dev | tee dev.log &`): joined to it by a pipe it reads and they write, or that it
 * writes and they read, and so on along the pipeline (killing `tee` would kill the kept server with
 * SIGPIPE; killing what feeds a server's stdin would end it on EOF). Two processes that both write
 * one pipe (both inherited the same stdout) are not joined by it. Pure: each process's pipe ends in,
 * pid → the kept pid it is joined through out (only for processes not already kept).
 */
export function keptByPipeline(pipes: ReadonlyMap<number, readonly PipeEnd[]>, kept: ReadonlySet<number>): Map<number, number> {
  const readers = new Map<number, number[]>();
  const writers = new Map<number, number[]>();
  for (const [pid, ends] of pipes) {
    for (const e of ends) {
      if (e.end !== 'w') (readers.get(e.inode) ?? readers.set(e.inode, []).get(e.inode)!).push(pid);
      if (e.end !== 'r') (writers.get(e.inode) ?? writers.set(e.inode, []).get(e.inode)!).push(pid);
    }
  }
  const through = new Map<number, number>();
  const queue = [...pipes.keys()].filter((pid) => kept.has(pid)).map((pid) => ({ pid, root: pid }));
  for (let i = 0; i < queue.length; i++) {
    const { pid, root } = queue[i]!;
    for (const e of pipes.get(pid) ?? []) {
      const other = [...(e.end !== 'w' ? (writers.get(e.inode) ?? []) : []), ...(e.end !== 'r' ? (readers.get(e.inode) ?? []) : [])];
      for (const q of other) {
        if (q === pid || kept.has(q) || through.has(q)) continue;
        through.set(q, root);
        queue.push({ pid: q, root });
      }
    }
  }
  return through;
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
