// The runs of one process know each other. An orchestrator that runs tasks at once diffs whole-machine
// snapshots in each run: a process one task leaves re-parented and without its tag (a scrubbed
// double-fork) is new for every run that was in progress, and the seed's rule would make it a
// suspect in each of their reports. Here each run's evidence (tag, lineage, cgroup members, its
// snapshots) is registered from its before snapshot until it is released (reset), and kept after
// that while a run that overlapped it is not, so that a run's suspects can leave out what another
// run attributes, and a suspect no run can attribute is named in one report only, with the runs it
// could belong to: those whose before snapshot did not hold it and whose after snapshot (taken or
// not yet) does — by identity, no clock compared with another.
//
// Bounded: a released run is dropped once every run not yet released started after it ended; a
// named suspect once every run it could belong to is released. A run whose tracker was dropped
// without reset() counts as released once the tracker is collected.
import type { LineageRecord, ProcessInfo, ProcessSnapshot } from '../types.js';
import { identityKey, identitySet } from '../rules/identity.js';

/** What a run in progress can tell the others (read when asked, held weakly). */
export interface RunEvidence {
  tag(): string | undefined;
  lineage(): ReadonlyMap<string, LineageRecord> | undefined;
  cgroupMembers(): ReadonlySet<number> | undefined;
  before(): ProcessSnapshot | undefined;
  after(): ProcessSnapshot | undefined;
}

interface Evidence {
  tag: string | undefined;
  lineage: ReadonlyMap<string, LineageRecord> | undefined;
  cgroupMembers: ReadonlySet<number> | undefined;
  before: ProcessSnapshot | undefined;
  after: ProcessSnapshot | undefined;
}

/** A run's place in the registry. */
export interface Entry {
  /** Date.now() at its before snapshot, and at its after snapshot: only compared with each other's. */
  startedAt: number;
  endedAt?: number;
  /** The tracker's evidence, held weakly: collected means released. */
  live: WeakRef<RunEvidence>;
  /** A copy taken when the run ended, and when it was released. */
  ended?: Evidence;
  released: boolean;
  /** Identity keys of its snapshots, made when first asked for. */
  beforeKeys?: Set<string>;
  afterKeys?: Set<string>;
}

/** A registered run: `end()` after its after snapshot, `release()` when its tracker is done (both idempotent). */
export interface RunHandle {
  entry: Entry;
  end(): void;
  release(): void;
}

class ConcurrentRuns {
  private readonly entries = new Set<Entry>();
  /** Suspects named in a report, by identity key: the runs each could belong to. */
  private readonly named = new Map<string, readonly Entry[]>();

  /** Registers a run whose before snapshot was just taken. */
  begin(evidence: RunEvidence): RunHandle {
    const entry: Entry = { startedAt: Date.now(), live: new WeakRef(evidence), released: false };
    this.entries.add(entry);
    const copy = (): Evidence | undefined => {
      const run = entry.live.deref();
      return run ? { tag: run.tag(), lineage: run.lineage(), cgroupMembers: run.cgroupMembers(), before: run.before(), after: run.after() } : entry.ended;
    };
    return {
      entry,
      end: () => {
        if (entry.endedAt !== undefined) return;
        entry.endedAt = Date.now();
        entry.ended = copy();
      },
      release: () => {
        if (entry.released) return;
        entry.endedAt ??= Date.now();
        entry.ended = copy();
        entry.released = true;
        this.prune();
      },
    };
  }

  private evidenceOf(entry: Entry): Evidence | undefined {
    const run = entry.released ? undefined : entry.live.deref();
    return run ? { tag: run.tag(), lineage: run.lineage(), cgroupMembers: run.cgroupMembers(), before: run.before(), after: run.after() } : entry.ended;
  }

  private isReleased(entry: Entry): boolean {
    if (!entry.released && entry.live.deref() === undefined) {
      entry.released = true; // its tracker was dropped without reset()
      entry.endedAt ??= Date.now();
    }
    return entry.released;
  }

  /** Drops what no run still in use can need. */
  prune(): void {
    const inUse = [...this.entries].filter((e) => !this.isReleased(e));
    const oldest = inUse.length > 0 ? Math.min(...inUse.map((e) => e.startedAt)) : Infinity;
    for (const entry of this.entries) if (entry.released && entry.endedAt! < oldest) this.entries.delete(entry);
    for (const [key, candidates] of this.named) if (candidates.every((e) => this.isReleased(e))) this.named.delete(key);
  }

  /** Another run's evidence attributes this process to it: its tag, its lineage, its cgroup. */
  claimedByAnother(p: ProcessInfo, self: Entry): boolean {
    const key = identityKey(p);
    for (const entry of this.entries) {
      if (entry === self) continue;
      const evidence = this.evidenceOf(entry);
      if (!evidence) continue;
      if (evidence.tag !== undefined && p.taskTag === evidence.tag) return true;
      if (evidence.lineage?.has(key)) return true;
      if (evidence.cgroupMembers?.has(p.pid) && (entry.afterKeys ??= keysOf(evidence.after))?.has(key)) return true;
    }
    return false;
  }

  /**
   * The runs (this one included) for which the process is new: not in their before snapshot, and in
   * their after snapshot, or born while they are still in progress.
   */
  candidates(p: ProcessInfo, self: Entry): Entry[] {
    const key = identityKey(p);
    const found: Entry[] = [];
    for (const entry of this.entries) {
      const evidence = this.evidenceOf(entry);
      if (!evidence?.before) continue;
      if ((entry.beforeKeys ??= keysOf(evidence.before))?.has(key)) continue;
      if (evidence.after && !(entry.afterKeys ??= keysOf(evidence.after))?.has(key)) continue;
      found.push(entry);
    }
    if (!found.includes(self)) found.push(self);
    return found;
  }

  /** The tags of these runs (those that have one). */
  tagsOf(entries: readonly Entry[]): string[] {
    return entries.flatMap((e) => {
      const tag = this.evidenceOf(e)?.tag;
      return tag === undefined ? [] : [tag];
    });
  }

  /** True the first time a suspect is named (in one report); false when another report named it already. */
  nameOnce(p: ProcessInfo, candidates: readonly Entry[]): boolean {
    const key = identityKey(p);
    if (this.named.has(key)) return false;
    this.named.set(key, candidates);
    return true;
  }

  /** How many runs and named suspects are remembered (tests: nothing grows per task). */
  size(): { runs: number; named: number } {
    this.prune();
    return { runs: this.entries.size, named: this.named.size };
  }
}

function keysOf(snapshot: ProcessSnapshot | undefined): Set<string> | undefined {
  return snapshot ? identitySet(snapshot) : undefined;
}

/** The runs of this process (one registry per loaded copy of the library). */
export const concurrentRuns = new ConcurrentRuns();
