// What of the session follower's state on disk (src/tracking/session-records.ts) can be trusted and
// what is worth keeping. Pure: plain data in, verdicts out.
//   - the state directory is the user's alone (as ssh wants ~/.ssh): stateDirectoryProblem
//   - a record written in another boot names processes of that boot: recordBoot
//   - a followed agent's lineage keeps only what can still leak: boundLineage
//   - the journal's lines (an entry, then the outcome of its reaping) merged: mergeJournal
import type { LineageRecord } from '../types.js';
import { MAX_TREE_DEPTH } from './identity.js';

/** A directory as stat(2) tells it. */
export interface DirectoryStat {
  path: string;
  isDirectory: boolean;
  uid: number;
  mode: number;
}

/**
 * Why a directory of rtrack's state is not the user's alone, in words; undefined when it is. It
 * must be a directory owned by the user (or root, as ssh allows) and writable by neither its group
 * nor others: whoever else can write there could register a process as an agent (which the reaper
 * then refuses to signal, or whose session it takes for over) or take the follower's lock.
 */
export function stateDirectoryProblem(dir: DirectoryStat, uid: number): string | undefined {
  if (!dir.isDirectory) return `${dir.path} is not a directory`;
  if (dir.uid !== uid && dir.uid !== 0) return `${dir.path} is owned by uid ${dir.uid}, not by you (uid ${uid})`;
  const writable = [...(dir.mode & 0o020 ? ['its group'] : []), ...(dir.mode & 0o002 ? ['others'] : [])];
  if (writable.length > 0) return `${dir.path} is writable by ${writable.join(' and ')} (mode ${(dir.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** This boot: its id (Linux: /proc/sys/kernel/random/boot_id) and when it started (ms since the epoch), where known. */
export interface BootInfo {
  id?: string;
  startedAtMs?: number;
}

/**
 * Whether a record was written in this boot. A process of another boot is gone, and a process of
 * this one may have its pid and start time: such a record names no process of ours. A record with
 * a boot id is judged by it; one without (written before records had one) by its start: before
 * this boot began is another boot. When nothing tells (no boot id on this platform), this boot.
 */
export function recordBoot(record: { bootId?: string; startedAt?: string }, boot: BootInfo): 'this' | 'another' {
  if (record.bootId !== undefined && boot.id !== undefined) return record.bootId === boot.id ? 'this' : 'another';
  if (record.bootId === undefined && boot.startedAtMs !== undefined && record.startedAt !== undefined) {
    const at = Date.parse(record.startedAt);
    if (Number.isFinite(at) && at < boot.startedAtMs) return 'another';
  }
  return 'this';
}

/**
 * The lineage entries that can still matter, at most `cap`: every process that may be alive
 * (`alive` true, or undefined when it cannot be told), and a dead one only while a process below
 * it in the lineage may be alive (a dead process's whole subtree has exited: it can neither leak
 * nor pass anything on). Over the cap the oldest dead go first, then the oldest live (counted in
 * `droppedAlive`: a live process the follower no longer follows). Keeps the entries' order.
 */
export function boundLineage<T extends LineageRecord>(entries: readonly T[], alive: (entry: T) => boolean | undefined, cap: number): { kept: T[]; droppedAlive: number } {
  const byPid = new Map<number, T[]>();
  for (const e of entries) {
    const list = byPid.get(e.pid);
    if (list) list.push(e);
    else byPid.set(e.pid, [e]);
  }
  // The parent entry of an entry: the one with its ppid that started no later (latest such, a pid reused).
  const parentOf = (e: T): T | undefined => {
    let best: T | undefined;
    for (const p of byPid.get(e.ppid) ?? []) if (p !== e && p.startTime <= e.startTime && (!best || p.startTime > best.startTime)) best = p;
    return best;
  };
  const live = new Set<T>();
  const keep = new Set<T>();
  for (const e of entries) {
    if (alive(e) === false) continue;
    live.add(e);
    // It and its dead ancestors in the lineage (stopping at one already kept: its ancestors are too).
    let at: T | undefined = e;
    for (let depth = 0; at && !keep.has(at) && depth < MAX_TREE_DEPTH; depth++) {
      keep.add(at);
      at = parentOf(at);
    }
  }
  let kept = entries.filter((e) => keep.has(e));
  let droppedAlive = 0;
  if (kept.length > cap) {
    const oldestFirst = [...kept].sort((a, b) => Number(live.has(a)) - Number(live.has(b)) || a.startTime - b.startTime || a.pid - b.pid);
    const dropped = new Set(oldestFirst.slice(0, kept.length - cap));
    for (const e of dropped) if (live.has(e)) droppedAlive++;
    kept = kept.filter((e) => !dropped.has(e));
  }
  return { kept, droppedAlive };
}

/** A journal line that records what reaping did, naming the entry it belongs to (`id`). */
export interface JournalOutcomeLine<R> {
  outcomeOf: string;
  reaped: R[];
}

/** What a journal entry needs to be one: a session id and what it left. */
interface EntryShape {
  sessionId: string;
  leaked: unknown[];
  id?: string;
  reaping?: 'started';
  reaped?: unknown[];
}

/**
 * The journal's lines (oldest first, across its rotated files) as entries: an entry written before
 * reaping (`reaping: 'started'`, with an `id`) gets the outcome a later line names (`reaped`, and
 * no longer `reaping`); one whose outcome never came (the follower died while reaping) keeps
 * `reaping: 'started'`. An outcome whose entry is gone (rotated away) is dropped; a line of a kind
 * of its own (`kind`: what a watch reaped, `watch-reap`) is returned apart, in `records`; a line that
 * is no JSON, or none of these shapes, is counted as corrupt.
 */
export function mergeJournal<E extends EntryShape, R extends { kind: string } = { kind: string }>(lines: readonly string[]): { entries: E[]; corrupt: number; records: R[] } {
  const entries: E[] = [];
  const records: R[] = [];
  const byId = new Map<string, E>();
  let corrupt = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      corrupt++;
      continue;
    }
    const v = value as Partial<E & JournalOutcomeLine<unknown> & { kind: unknown }> | null;
    if (v && typeof v === 'object' && typeof v.kind === 'string') {
      records.push(value as R);
    } else if (v && typeof v === 'object' && typeof v.outcomeOf === 'string' && Array.isArray(v.reaped)) {
      const entry = byId.get(v.outcomeOf);
      if (entry) {
        delete entry.reaping;
        entry.reaped = v.reaped;
      }
    } else if (v && typeof v === 'object' && typeof v.sessionId === 'string' && Array.isArray(v.leaked)) {
      const entry = value as E;
      entries.push(entry);
      if (typeof entry.id === 'string') byId.set(entry.id, entry);
    } else corrupt++;
  }
  return { entries, corrupt, records };
}
