// What a run kept, for as long as it lives, whoever looks. `rtrack run --keep <pattern>` (or the
// run's config, or a marker the process carried when the run judged it) keeps a process the run
// started; later a `scan`, a `watch` or the follower would see only a process carrying an over run's
// tag. So a run writes what it kept — identity (pid and start time) and why — to
// `<state>/kept/<tag>.json`, with when it began judging its processes and which it judged just
// before (rules/kept-runs.ts: what carries the tag and was born after may be what a kept process
// started since), and every look at the table (scan, watch, the follower, the reaper's gate) reads
// those files: a process named there is kept while that identity lives. A file of a run of another
// PID namespace is left alone (its pids are not this look's to judge). A file of another boot, or
// none of whose processes is alive — neither one it names nor one carrying its tag born after its
// run judged — is removed by the look that finds it so.
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { prepareStateDirectory, stateDirectoryDistrust, writeFileAtomic, type UserState } from '../files.js';
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import { parseTaskTag, UNKNOWN_PID_NAMESPACE } from '../tracking/task-tag.js';
import { identityKey } from '../rules/identity.js';
import { isPipelineReason } from '../rules/keep.js';
import { bornAfterJudging, START_TIME_SLACK_MS, type KeptRun } from '../rules/kept-runs.js';
import type { AttributedProcess, ProcessInfo } from '../types.js';

/** One kept process, as a run recorded it. */
export interface KeptEntry {
  pid: number;
  /** pid and start time in the OS's unit (`identityKey`). */
  identity: string;
  /** Why the run kept it: `env` (the marker), `pattern` (a keep pattern), `shared-daemon`, or how (`below a kept process`, a pipeline). */
  reason: string;
  command: string;
  /** Kept as a kept process's pipeline: itself only, not what runs below it (the look judges that on its own). */
  alone?: true;
}

/** A run's file of what it kept. */
export interface KeptRecord {
  /** The run's task tag. */
  tag: string;
  /** The boot it was written in: identities name processes of that boot only. */
  bootId?: string;
  /** When it was written. */
  at: string;
  /** When the run began judging its processes (its after look); absent in an older rtrack's records (then only the identities count). */
  judgedAt?: string;
  /** The identities of the processes the run judged that started within START_TIME_SLACK_MS before judgedAt. */
  judged?: string[];
  kept: KeptEntry[];
}

/** Where a state directory's records of what runs kept are. */
export const keptDir = (state: string): string => join(state, 'kept');
/** A tag is `rt3.<pid>.<start>.<ns>.<random>`: letters, digits and dots only, so it names a file safely. */
const fileOf = (state: string, tag: string): string => join(keptDir(state), `${tag.replace(/[^A-Za-z0-9.]/g, '_')}.json`);

/**
 * Records what a run kept (atomically, one file a run), with its judgement: when it began (`at`) and
 * what its after look saw carrying the run's tag (`processes`). Undefined when written; the reason in one
 * line when not (then only the run itself knew: said in its log).
 */
export async function recordKept(state: string, tag: string, kept: readonly AttributedProcess[], bootId: string | undefined, judgement: { at: Date; processes: readonly ProcessInfo[] }): Promise<string | undefined> {
  if (kept.length === 0) return undefined;
  const problem = prepareStateDirectory(state);
  if (problem) return problem;
  const since = judgement.at.getTime() - START_TIME_SLACK_MS;
  const record: KeptRecord = {
    tag,
    ...(bootId ? { bootId } : {}),
    at: new Date().toISOString(),
    judgedAt: judgement.at.toISOString(),
    judged: judgement.processes.filter((p) => p.startTime >= since).map((p) => identityKey(p)),
    kept: kept.map((p) => {
      const reason = p.keepBecause ?? p.keepReason ?? 'below a kept process';
      return { pid: p.pid, identity: identityKey(p), reason, command: p.command, ...(isPipelineReason(reason) ? { alone: true as const } : {}) };
    }),
  };
  try {
    mkdirSync(keptDir(state), { recursive: true, mode: 0o700 });
    await writeFileAtomic(fileOf(state, tag), `${JSON.stringify(record)}\n`, 0o600);
    return undefined;
  } catch (err) {
    return `cannot record what the run kept in ${keptDir(state)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** The rules' view of a record (rules/kept-runs.ts); undefined for a record without its judgement (an older rtrack's). */
function keptRunOf(record: KeptRecord): KeptRun | undefined {
  const judgedAt = record.judgedAt === undefined ? NaN : Date.parse(record.judgedAt);
  if (!Number.isFinite(judgedAt)) return undefined;
  return { tag: record.tag, judgedAt, judged: new Set(Array.isArray(record.judged) ? record.judged.filter((j) => typeof j === 'string') : []), kept: keptEntriesOf(record) };
}

/** A record's kept processes as the rules read them (its well-formed entries). */
function keptEntriesOf(record: KeptRecord): KeptRun['kept'] {
  return record.kept.filter((e) => typeof e.identity === 'string').map((e) => ({ pid: e.pid, identity: e.identity, command: String(e.command), reason: String(e.reason) }));
}

/** What runs kept and still lives: by identity (`identityKey`) → why; and each such run as the rules read it. */
export interface KeptByRuns {
  kept: Map<string, { why: string; alone: boolean }>;
  runs: KeptRun[];
  /** The files read that stay (some process of theirs lives). */
  files: string[];
}

/**
 * What runs kept that still lives (each with why, and whether alone: KeptEntry). Read only from a state directory that is the user's alone
 * (`uid`'s, for a system-wide look: default this process's) (anyone else who could write there could
 * keep any process from reaping — harmless — or nothing else, but the rule is one for the whole
 * state). Files of another boot, and files none of whose processes lives — no identity it names
 * (`alive`: asked of the process itself, not of a look that may be older than the file), and no
 * process of the look (`processes`) that carries its tag and was born after its run judged — are
 * removed, unless `keepFiles`.
 */
export async function readKept(
  state: string,
  look: { alive: (identity: string) => Promise<boolean>; processes: readonly ProcessInfo[]; pidNamespace?: string | undefined },
  bootId: string | undefined,
  uid?: number,
  keepFiles = false,
): Promise<KeptByRuns> {
  const found: KeptByRuns = { kept: new Map(), runs: [], files: [] };
  if (stateDirectoryDistrust(state, uid)) return found;
  let names: string[];
  try {
    names = readdirSync(keptDir(state));
  } catch {
    return found;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(keptDir(state), name);
    let record: KeptRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as KeptRecord;
      if (!Array.isArray(record.kept) || typeof record.tag !== 'string') continue;
    } catch {
      continue; // a temporary file being renamed, or damaged: not ours to judge
    }
    // A run of another PID namespace (a container sharing the home) named processes by its own pids:
    // this look can neither tell them alive nor gone. Its file stays, and says nothing here.
    const owner = parseTaskTag(record.tag);
    if (look.pidNamespace !== undefined && owner?.pidNamespace !== undefined && owner.pidNamespace !== UNKNOWN_PID_NAMESPACE && owner.pidNamespace !== look.pidNamespace) {
      // …but what carries its tag here may be what it kept (this look may see that namespace's
      // processes under other pids): every such process is one that may be kept (rules/kept-runs.ts).
      found.runs.push({ tag: record.tag, judgedAt: -Infinity, judged: new Set(), kept: keptEntriesOf(record), elsewhere: owner.pidNamespace });
      found.files.push(path);
      continue;
    }
    const otherBoot = record.bootId !== undefined && bootId !== undefined && record.bootId !== bootId;
    const living: KeptEntry[] = [];
    if (!otherBoot) for (const e of record.kept) if (typeof e.identity === 'string' && (await look.alive(e.identity))) living.push(e);
    for (const e of living) found.kept.set(e.identity, { why: `kept by the run ${record.tag} (${e.reason})`, alone: e.alone === true });
    const run = otherBoot ? undefined : keptRunOf(record);
    // What a kept process started after the run ended carries the tag: the file lives as long as it does.
    const bornAfter = run !== undefined && look.processes.some((p) => bornAfterJudging(p, run));
    if (run && (living.length > 0 || bornAfter)) found.runs.push(run);
    if (living.length > 0 || bornAfter) found.files.push(path);
    else if (!keepFiles) {
      try {
        unlinkSync(path);
      } catch {
        // removed by another look
      }
    }
  }
  return found;
}

/**
 * What runs kept that still lives, in every state directory given (each read as readKept reads
 * it), as one look at the table (`processes`, their environments read) finds it; a kept process not
 * in the look is asked itself.
 */
export async function keptInLook(states: readonly UserState[], processes: readonly ProcessInfo[], reader: PlatformReader, keepFiles = false): Promise<KeptByRuns> {
  const identities = new Set(processes.map((p) => identityKey(p)));
  const alive = async (identity: string): Promise<boolean> => {
    if (identities.has(identity)) return true;
    const [pid, start] = identity.split(':').map(Number);
    const status = await reader.readStatus(pid!).catch(() => null);
    return status === null || (status !== undefined && status.alive && status.startTime === start); // unreadable: may be it
  };
  const all: KeptByRuns = { kept: new Map(), runs: [], files: [] };
  const bootId = reader.readBootId?.();
  const pidNamespace = reader.readPidNamespaceId?.(process.pid);
  for (const state of states) {
    const found = await readKept(state.path, { alive, processes, pidNamespace }, bootId, state.uid, keepFiles);
    for (const [identity, why] of found.kept) all.kept.set(identity, why);
    all.runs.push(...found.runs);
    all.files.push(...found.files);
  }
  return all;
}

/**
 * The record files of a state directory some process of which still runs (a kept one, or one born
 * after its run judged), from a look of its own at the table; with `prune`, the others are removed
 * as any look removes them (`rtrack uninstall`: what it must leave).
 */
export async function keptStillRunning(state: string, prune: boolean, reader: PlatformReader = platformReader()): Promise<string[]> {
  try {
    if (!readdirSync(keptDir(state)).some((name) => name.endsWith('.json'))) return [];
  } catch {
    return [];
  }
  const snapshot = await takeSnapshot({ reader, environment: 'all' });
  return (await keptInLook([{ path: state }], snapshot.processes, reader, !prune)).files;
}
