// What a run kept, for as long as it lives, whoever looks. `rtrack run --keep <pattern>` (or the
// run's config, or a marker the process carried when the run judged it) keeps a process the run
// started; later a `scan`, a `watch` or the follower would see only a process carrying an over run's
// tag. So a run writes what it kept — identity (pid and start time) and why — to
// `<state>/kept/<tag>.json`, and every look at the table (scan, watch, the follower, the reaper's
// gate) reads those files: a process named there is kept while that identity lives. A file of
// another boot, or whose processes are all gone, is removed by the look that finds it so.
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { prepareStateDirectory, stateDirectoryDistrust, writeFileAtomic } from '../files.js';
import { identityKey } from '../rules/identity.js';
import { isPipelineReason } from '../rules/keep.js';
import type { AttributedProcess } from '../types.js';

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
  at: string;
  kept: KeptEntry[];
}

const keptDir = (state: string): string => join(state, 'kept');
/** A tag is `rt3.<pid>.<start>.<ns>.<random>`: letters, digits and dots only, so it names a file safely. */
const fileOf = (state: string, tag: string): string => join(keptDir(state), `${tag.replace(/[^A-Za-z0-9.]/g, '_')}.json`);

/**
 * Records what a run kept (atomically, one file a run). Undefined when written; the reason in one
 * line when not (then only the run itself knew: said in its log).
 */
export async function recordKept(state: string, tag: string, kept: readonly AttributedProcess[], bootId: string | undefined): Promise<string | undefined> {
  if (kept.length === 0) return undefined;
  const problem = prepareStateDirectory(state);
  if (problem) return problem;
  const record: KeptRecord = {
    tag,
    ...(bootId ? { bootId } : {}),
    at: new Date().toISOString(),
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

/**
 * What runs kept that still lives, by identity (`identityKey`) → why, and whether alone (KeptEntry). Read only from a state
 * directory that is the user's alone (`uid`'s, for a system-wide look: default this process's) (anyone else who could write there could keep any process from
 * reaping — harmless — or nothing else, but the rule is one for the whole state). Files of another
 * boot, and files none of whose identities is alive (`alive`: asked of the process itself, not
 * of a look that may be older than the file), are removed.
 */
export async function readKept(state: string, alive: (identity: string) => Promise<boolean>, bootId: string | undefined, uid?: number): Promise<Map<string, { why: string; alone: boolean }>> {
  const kept = new Map<string, { why: string; alone: boolean }>();
  if (stateDirectoryDistrust(state, uid)) return kept;
  let names: string[];
  try {
    names = readdirSync(keptDir(state));
  } catch {
    return kept;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(keptDir(state), name);
    let record: KeptRecord;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as KeptRecord;
      if (!Array.isArray(record.kept)) continue;
    } catch {
      continue; // a temporary file being renamed, or damaged: not ours to judge
    }
    const otherBoot = record.bootId !== undefined && bootId !== undefined && record.bootId !== bootId;
    const living: KeptEntry[] = [];
    if (!otherBoot) for (const e of record.kept) if (typeof e.identity === 'string' && (await alive(e.identity))) living.push(e);
    for (const e of living) kept.set(e.identity, { why: `kept by the run ${record.tag} (${e.reason})`, alone: e.alone === true });
    if (living.length === 0) {
      try {
        unlinkSync(path);
      } catch {
        // removed by another look
      }
    }
  }
  return kept;
}
