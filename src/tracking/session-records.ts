// The follower's state on disk as its readers see it: the records the agents' hooks write, the
// lineage and journal the follower keeps, its lock — their layout, their types, how they are read.
// Whoever trusts it (the reaper's gate through operations/table-look.ts, scan, `rtrack sessions`)
// reads it here; the writers (the hooks', the follower's) are operations/agent-sessions.ts. Kept
// light: a hook loads this. All state is under the state directory (the user's alone: files.ts,
// prepareStateDirectory), so a follower that was killed is replaced by the next hook without losing
// what was recorded. Each file has one kind of writer, and no file is read,
// changed and written back by anyone:
//   sessions/<agent pid>-<start>.json  one registered agent process (its session, cwd, boot id),
//                                      written whole by SessionStart only (`/clear` replaces it)
//   sessions/<agent pid>-<start>.end.jsonl  the SessionEnd reasons, one line per SessionEnd
//                                      (`{ sessionId, reason }`), appended by SessionEnd only
//   sessions/<agent pid>-<start>.lineage.jsonl  what the follower saw of its tree that can still
//                                      leak: a line with the boot id, then one entry a line;
//                                      appended, and rewritten whole when it has grown to twice
//                                      what it keeps. Written by the follower only
//   follower.lock                      `<pid> <start time> <boot id>` of the follower that runs,
//                                      made with link(2); follower.lock.takeover-* while a stale
//                                      one is taken over
//   journal.jsonl (journal.1.jsonl …)  one JSON line per ended session that left something, and
//                                      one per outcome of its reaping; one per process `rtrack watch
//                                      --reap` handed to the reaper (`kind: "watch-reap"`, in the
//                                      watch's own state directory); rotated at 1 MiB
//   hooks.log, follower.log (… .1)     one line per hook that could not do its job (it still exits
//                                      0) and per follower that could not start; what the
//                                      follower did. Rotated
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGenerations, stateDirectoryDistrust, type Rotation } from '../files.js';
import type { PlatformReader } from '../platform/types.js';
import { mergeJournal, recordBoot, type BootInfo } from '../rules/follower-state.js';
import { isInitialPidNamespace } from '../rules/watch-scope.js';
import type { JournalledLeftovers } from '../rules/machine-leaks.js';
import type { LeakCost, LineageRecord, ProcessIdentity, ReapOutcome } from '../types.js';

/** One agent process registered by its SessionStart hook. */
export interface SessionRecord {
  agent: string;
  sessionId: string;
  cwd?: string;
  transcriptPath?: string;
  /** The agent process: pid and start time in the OS's unit (its identity). */
  agentPid: number;
  agentStartTime: number;
  startedAt: string;
  /** The boot it was registered in (Linux's boot id): a record of another boot names no process of this one. */
  bootId?: string;
  /** The SessionStart `source` (startup, resume, clear, compact). */
  source?: string;
  /** The SessionEnd `reason` of this session id, when one ran (`clear` does not end the process). */
  endReason?: string;
  /** The PID namespace it was registered in (Linux): its pids are that namespace's. */
  pidNamespace?: string;
}

/**
 * Whether a record's pids are this namespace's (`ns`: this process's PID namespace): a record made
 * in another one (a container sharing the home) names pids this look cannot judge — neither alive
 * nor gone — so it is left alone. Without a namespace on either side, it is.
 */
export function ofThisNamespace(record: { pidNamespace?: string }, ns: string | undefined): boolean {
  return record.pidNamespace === undefined || ns === undefined || record.pidNamespace === ns;
}

/** One ended session that left something: a line of the journal. */
export interface JournalEntry {
  agent: string;
  sessionId: string;
  cwd?: string;
  agentPid: number;
  startedAt: string;
  endedAt: string;
  /** The SessionEnd reason, or `agent exited` when no SessionEnd hook ran (a crash, SIGKILL). */
  reason: string;
  /** The boot it ended in (Linux's boot id): its leftovers' identities name processes of that boot only. */
  bootId?: string;
  /**
   * What it left: `identity` (pid and start time, `identityKey`) tells whether one still runs later
   * (journalled by this version on); `command` is the 100-character display form, `commandLine` the
   * whole command line where that is longer.
   */
  leaked: { pid: number; identity?: string; command: string; commandLine?: string; memoryMB: number; memoryBytes?: number; evidence: string[]; cost?: LeakCost }[];
  /** Names the entry, for the line with its reaping's outcome (with `sessions.reap`). */
  id?: string;
  /**
   * Written before the first signal: reaping started. The outcome's line (`reaped`) replaces it when
   * the journal is read; an entry that still says so had its follower stop while reaping.
   */
  reaping?: 'started';
  /** With `sessions.reap`: what reaping did. */
  reaped?: ReapOutcome[];
}

/**
 * One process `rtrack watch --reap` handed to the reaper, and what reaping did: a line of the watch's
 * journal (`kind: "watch-reap"`), written once the reaper returned.
 */
export interface WatchReapRecord {
  kind: 'watch-reap';
  /** When the reaper returned (ISO 8601). */
  at: string;
  bootId?: string;
  /** The user it ran as (name, or uid when no name is known). */
  user?: string;
  pid: number;
  /** `identityKey`: pid and start time. */
  identity: string;
  command: string;
  evidence: string[];
  /** The agent session that left it (certain by agent markers or the follower's journal). */
  session?: { agent: string; sessionId: string };
  /** The task tag that made it certain (a tracked run that is over). */
  tag?: string;
  result: ReapOutcome['result'];
  signals: string[];
  /** Why the gate refused it, when it did. */
  reason?: string;
}

/** How large the journal grows before it is rotated, and how many older files are kept. */
export const JOURNAL_ROTATION: Rotation = { maxBytes: 1 << 20, keep: 3 };

export const sessionsDir = (state: string): string => join(state, 'sessions');
export const recordPath = (state: string, id: ProcessIdentity): string => join(sessionsDir(state), `${id.pid}-${id.startTime}.json`);
export const endsPath = (recordFile: string): string => recordFile.replace(/\.json$/, '.end.jsonl');

/** Where the follower keeps the lineage of a registered agent's tree. */
export const lineagePath = (recordFile: string): string => recordFile.replace(/\.json$/, '.lineage.jsonl');
/** Where a follower before the lineage had a boot id kept it (one JSON array): read, then replaced. */
export const oldLineagePath = (recordFile: string): string => recordFile.replace(/\.json$/, '.lineage.json');

/** This boot, as the reader tells it: its id, and when it started. */
export function bootInfo(reader: PlatformReader): BootInfo {
  const id = reader.readBootId?.();
  let startedAtMs: number | undefined;
  try {
    startedAtMs = reader.startTimeToEpochMs(0);
  } catch {
    startedAtMs = undefined;
  }
  return { ...(id ? { id } : {}), ...(startedAtMs !== undefined && Number.isFinite(startedAtMs) ? { startedAtMs } : {}) };
}

/**
 * The lineage the follower saved for a record: its entries, the boot it was saved in (null: on a
 * platform without boot ids; undefined: an older follower's file, or none), and its lines.
 */
export function readLineage(recordFile: string): { bootId?: string | null; entries: LineageRecord[]; lines: number } {
  let text: string;
  try {
    text = readFileSync(lineagePath(recordFile), 'utf8');
  } catch {
    try {
      return { entries: JSON.parse(readFileSync(oldLineagePath(recordFile), 'utf8')) as LineageRecord[], lines: 0 };
    } catch {
      return { entries: [], lines: 0 };
    }
  }
  const lines = text.split('\n').filter((l) => l !== '');
  let bootId: string | null | undefined;
  const entries: LineageRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      const value = JSON.parse(line) as Partial<LineageRecord> & { bootId?: string | null };
      if (i === 0 && 'bootId' in value) bootId = value.bootId;
      else if (typeof value.pid === 'number' && typeof value.startTime === 'number' && typeof value.ppid === 'number') entries.push(value as LineageRecord);
    } catch {
      // a line cut short by a crash: the rest stands
    }
  }
  return { ...(bootId === undefined ? {} : { bootId }), entries, lines: lines.length };
}

/**
 * Every record in the state directory, each with the reason of its session's SessionEnd when one
 * ran (the last one recorded for its session id). What the follower follows; see
 * registeredSessions for what others may trust.
 */
export function readRecords(state: string): { path: string; record: SessionRecord }[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(state));
  } catch {
    return [];
  }
  const present = new Set(names);
  const records: { path: string; record: SessionRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.endsWith('.lineage.json')) continue;
    const path = join(sessionsDir(state), name);
    let record: SessionRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as SessionRecord;
      if (typeof record?.sessionId !== 'string' || !Number.isSafeInteger(record.agentPid)) continue;
    } catch {
      continue; // being written (atomically, so only a leftover temporary file) or corrupt: skipped
    }
    const reason = present.has(name.replace(/\.json$/, '.end.jsonl')) ? endReasonOf(path, record.sessionId) : undefined;
    records.push({ path, record: reason === undefined ? record : { ...record, endReason: reason } });
  }
  return records;
}

/** The last SessionEnd reason recorded for this session id. */
function endReasonOf(recordFile: string, sessionId: string): string | undefined {
  let reason: string | undefined;
  try {
    for (const line of readFileSync(endsPath(recordFile), 'utf8').split('\n')) {
      try {
        const end = JSON.parse(line) as { sessionId?: unknown; reason?: unknown };
        if (end.sessionId === sessionId && typeof end.reason === 'string') reason = end.reason;
      } catch {
        // an empty or cut line
      }
    }
  } catch {
    // removed meanwhile
  }
  return reason;
}

/**
 * The records others may trust (the reaper's gate, scan, watch): none from a state directory that is
 * not the user's alone (whoever else can write there could make any process an agent, or a live
 * session's agent dead), and none of another boot (they name processes of that boot). `uid`: whose
 * the directory must be (default: this process's user).
 */
export function registeredSessions(state: string, reader: PlatformReader, uid?: number): { path: string; record: SessionRecord }[] {
  if (stateDirectoryDistrust(state, uid ?? process.getuid?.())) return [];
  const boot = bootInfo(reader);
  const ns = reader.readPidNamespaceId?.(process.pid);
  return readRecords(state).filter(({ record }) => recordBoot(record, boot) === 'this' && ofThisNamespace(record, ns));
}

/**
 * What the journal says ended sessions left, by identity — for scan, which reports those still
 * running as certain leaks: from a state directory that is the user's alone, of this boot only.
 */
export function journalledLeftovers(state: string, reader: PlatformReader, uid?: number): JournalledLeftovers[] {
  if (stateDirectoryDistrust(state, uid ?? process.getuid?.())) return [];
  const boot = bootInfo(reader);
  return readJournal(state)
    .entries.filter((e) => recordBoot({ ...(e.bootId ? { bootId: e.bootId } : {}), startedAt: e.endedAt }, boot) === 'this')
    .map((e) => ({
      agent: e.agent,
      sessionId: e.sessionId,
      agentPid: e.agentPid,
      leaked: e.leaked.flatMap((p) => (p.identity ? [{ identity: p.identity, evidence: p.evidence }] : [])),
    }))
    .filter((e) => e.leaked.length > 0);
}

/**
 * The journal's entries, oldest first, read across its rotated files: an entry and the outcome of
 * its reaping merged (rules/follower-state.ts, mergeJournal); a corrupt line is skipped and counted,
 * never fatal.
 */
export function readJournal(state: string): { entries: JournalEntry[]; corrupt: number; watchReaps: WatchReapRecord[] } {
  const lines = readGenerations(join(state, 'journal.jsonl'), JOURNAL_ROTATION).flatMap((text) => text.split('\n'));
  const { entries, corrupt, records } = mergeJournal<JournalEntry, WatchReapRecord | { kind: string }>(lines);
  return { entries, corrupt, watchReaps: records.filter((r): r is WatchReapRecord => r.kind === 'watch-reap') };
}

/** What a follower lock says: its holder, and the boot it was taken in (none in a lock of an older rtrack). */
export interface LockHolder extends ProcessIdentity {
  bootId?: string;
  /** The holder's PID namespace (Linux): its pid is that namespace's. */
  pidNamespace?: string;
}

/** `<pid> <start time>[ <boot id>|- [<pid namespace>]]`: a follower lock's text. */
export function parseLock(text: string): LockHolder | undefined {
  const [pid, startTime, bootId, pidNamespace] = text.trim().split(' ');
  const holder: LockHolder = { pid: Number(pid), startTime: Number(startTime) };
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0 || !Number.isFinite(holder.startTime)) return undefined;
  if (bootId && bootId !== '-') holder.bootId = bootId;
  if (pidNamespace) holder.pidNamespace = pidNamespace;
  return holder;
}

/** A file's text (a lock's, a take-over's), undefined when there is none or it cannot be read. */
export function readQuietly(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The follower lock of a PID namespace (`ns`: this process's): one follower per user and namespace,
 * since a follower follows its own namespace's records only. `follower.lock` in the host's namespace
 * (or where there are none), `follower.<ns>.lock` in another (a container sharing the home): a
 * container's follower, or one it left when it was killed, never keeps the host's from running.
 */
export function followerLockPath(state: string, ns: string | undefined): string {
  return join(state, ns === undefined || isInitialPidNamespace(ns) ? 'follower.lock' : `follower.${ns}.lock`);
}

/** The identity the follower lock of namespace `ns` names (alive or not); undefined when there is no lock. */
export function readFollowerLock(state: string, ns: string | undefined): LockHolder | undefined {
  const text = readQuietly(followerLockPath(state, ns));
  return text === undefined ? undefined : parseLock(text);
}

