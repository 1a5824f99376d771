// A task's own account, beside the seed's machine-wide figures: the memory its tree held (sampled
// through the lineage at every poll: the sum of RSS, and of PSS where smaps_rollup can be read) and
// the CPU time it used, from the same samples — each process's own time and that of the children it
// has waited for, as /proc/[pid]/stat (and getrusage) give them. The run's cgroup, where there is one,
// gives exact figures instead (memory.peak, cpu.stat): runTracked adds them.
//
// CPU without a cgroup, from samples: at one instant, the live processes of the tree and the children
// they have waited for are disjoint, so Σ (own + waited-for children) over the live processes counts
// each process once. That sum at the last sample taken while the task's first process was alive,
// plus what processes re-parented out of the tree (whose time never reaches it) used before they
// vanished, plus what the processes alive after the task (its leaks) used since, is the account. It
// misses the last interval before the task exited and a process born and gone between two samples
// that no process of the tree waited for: a lower bound, off by at most one lineage interval.
import type { ProcessStatus } from '../platform/types.js';

/** A task's own memory and CPU, beside the machine-wide `memoryDeltaMB`. */
export interface TaskAccount {
  /** How many times the task's tree was sampled (every `lineageIntervalMs` while it ran, once more after). */
  samples: number;
  /** The memory of the task's own tree: every process it started, not the machine's. */
  memory: {
    /**
     * The most the tree held: the cgroup's `memory.peak` where known (exact), else the highest sampled
     * sum of PSS when PSS was read at every sample, else the highest sampled sum of RSS.
     */
    peakBytes: number;
    /** The same in MB (of 1024 × 1024 bytes). */
    peakMB: number;
    /**
     * Where `peakBytes` comes from: the cgroup (`memory.peak`), the samples' sum of PSS or of RSS, or
     * `none` — the task ended before its tree's first sample (a task of a few milliseconds), and
     * there is no cgroup figure: its memory is not known (`peakBytes` 0).
     */
    source: 'cgroup' | 'pss' | 'rss' | 'none';
    /** The highest sampled sum of RSS (a page shared by two processes counts twice). */
    peakRssBytes: number;
    /**
     * The highest sum of PSS (shared pages divided among their processes) over the samples where it
     * was read — at every sample while reading it costs under 2 % of the time (smaps_rollup walks a
     * process's page tables: milliseconds for a large one), and every process's could be read.
     */
    peakPssBytes?: number;
    /** The sums at the last sample taken while the task's first process was alive. */
    lastRssBytes: number;
    lastPssBytes?: number;
    /** The cgroup's `memory.current` when the task ended (its leaks, and the page cache charged to it), where known. */
    cgroupCurrentBytes?: number;
    /** The configured `taskMemoryThresholdMB`, when one is set. */
    thresholdMB?: number;
    /** `peakMB` is strictly above `thresholdMB` (a WARN line says so). */
    exceeded?: boolean;
  };
  /** The CPU time of the task's tree, in seconds. */
  cpu: {
    seconds: number;
    userSeconds: number;
    systemSeconds: number;
    /** `cgroup`: the run's cgroup's `cpu.stat` (exact); `samples`: the lineage's samples (a lower bound, see the README; 0 when the task ended before the first). */
    source: 'cgroup' | 'samples';
  };
  /** What the task's leaks (its orphans) still hold after it ended. */
  leaked: {
    processes: number;
    /** Their RSS together. */
    rssBytes: number;
    /** Their PSS together (RSS where PSS could not be read): what ending them gives back. */
    pssBytes: number;
  };
}

/** CPU seconds in user and in system mode. */
interface Cpu {
  user: number;
  system: number;
}

/** A process's own time and that of the children it has waited for (what getrusage gives its parent once it is waited for). */
function totalsOf(status: ProcessStatus): Cpu | undefined {
  if (status.cpuUserSeconds === undefined || status.cpuSystemSeconds === undefined) return undefined;
  return {
    user: status.cpuUserSeconds + (status.childrenCpuUserSeconds ?? 0),
    system: status.cpuSystemSeconds + (status.childrenCpuSystemSeconds ?? 0),
  };
}

/** One process of the tree at a sample: its identity, its status, whether its parent is in the tree, its PSS where read. */
export interface TreeSample {
  key: string;
  status: ProcessStatus;
  /** Its parent now is a process of the task's tree (false: re-parented out of it). */
  parentInTree: boolean;
  pssBytes?: number;
}

/** What the samples add up to, before the cgroup's figures and the leaks are added. */
export interface SampledAccount {
  samples: number;
  peakRssBytes: number;
  peakPssBytes?: number;
  lastRssBytes: number;
  lastPssBytes?: number;
  /** PSS was read, and could be, at every sample: its peak is the tree's. */
  pssAtEverySample: boolean;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** Whether any sample carried memory and CPU figures (Linux); false elsewhere. */
  measured: boolean;
}

/** Adds up the samples of a task's tree. Fed by the lineage at each poll; no I/O of its own. */
export class TaskAccountant {
  private samples = 0;
  private measured = false;
  private peakRss = 0;
  private peakPss: number | undefined;
  private pssComplete = true;
  private pssEverySample = true;
  private lastRss = 0;
  private lastPss: number | undefined;
  /** Each live process's totals at its last sample, and whether its parent was then in the tree. */
  private readonly last = new Map<string, { cpu: Cpu; parentInTree: boolean }>();
  /** The last sample taken while the task's first process was alive: the sum, and each process's part of it. */
  private snapshot: { sum: Cpu; parts: Map<string, Cpu> } = { sum: { user: 0, system: 0 }, parts: new Map() };
  /** Processes re-parented out of the tree that vanished: their time never reached the tree. */
  private readonly departed = new Map<string, Cpu>();
  /** After the first process exited: each remaining process's totals at its last sample. */
  private readonly after = new Map<string, Cpu>();

  /**
   * One sample of the tree's live processes; `rootAlive`: the task's first process is one of them;
   * `pssRead`: their PSS was read (a process without `pssBytes` then could not be read).
   */
  sample(rootAlive: boolean, live: readonly TreeSample[], pssRead = true): void {
    this.samples++;
    let rss = 0;
    let pss = 0;
    let pssKnown = true;
    const sum: Cpu = { user: 0, system: 0 };
    const parts = new Map<string, Cpu>();
    for (const p of live) {
      if (p.status.rssBytes !== undefined) {
        this.measured = true;
        rss += p.status.rssBytes;
      }
      if (p.pssBytes !== undefined) pss += p.pssBytes;
      else pssKnown = false;
      if (!pssRead) pssKnown = false;
      const cpu = totalsOf(p.status);
      if (!cpu) continue;
      this.measured = true;
      this.last.set(p.key, { cpu, parentInTree: p.parentInTree });
      parts.set(p.key, cpu);
      sum.user += cpu.user;
      sum.system += cpu.system;
    }
    this.peakRss = Math.max(this.peakRss, rss);
    if (!pssRead) this.pssEverySample = false;
    else if (pssKnown && live.length > 0) this.peakPss = Math.max(this.peakPss ?? 0, pss);
    else if (!pssKnown) this.pssComplete = false;
    if (rootAlive) {
      this.lastRss = rss;
      if (pssRead) this.lastPss = pssKnown ? pss : undefined;
      this.snapshot = { sum, parts };
    } else {
      for (const [key, cpu] of parts) this.after.set(key, cpu);
    }
  }

  /** A process of the tree is gone (or its pid was taken by another): when it had left the tree, its time left with it. */
  vanished(key: string): void {
    const seen = this.last.get(key);
    this.last.delete(key);
    if (seen && !seen.parentInTree) this.departed.set(key, seen.cpu); // else: waited for by a process of the tree, its time is in that one's now
  }

  /** What the samples add up to. */
  result(): SampledAccount {
    const { sum, parts } = this.snapshot;
    let user = sum.user;
    let system = sum.system;
    const since = (key: string, cpu: Cpu): void => {
      const counted = parts.get(key);
      user += Math.max(0, cpu.user - (counted?.user ?? 0));
      system += Math.max(0, cpu.system - (counted?.system ?? 0));
    };
    for (const [key, cpu] of this.departed) if (!this.after.has(key)) since(key, cpu);
    for (const [key, cpu] of this.after) since(key, cpu);
    const account: SampledAccount = {
      samples: this.samples,
      peakRssBytes: this.peakRss,
      lastRssBytes: this.lastRss,
      cpuUserSeconds: user,
      cpuSystemSeconds: system,
      measured: this.measured,
      pssAtEverySample: this.pssEverySample && this.pssComplete && this.peakPss !== undefined,
    };
    if (this.peakPss !== undefined && this.pssComplete) account.peakPssBytes = this.peakPss;
    if (this.lastPss !== undefined) account.lastPssBytes = this.lastPss;
    return account;
  }
}

/** The cgroup's own figures, where it has them. */
export interface CgroupFigures {
  memoryPeakBytes?: number;
  memoryCurrentBytes?: number;
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
}

const BYTES_PER_MB = 1024 * 1024;

/** The task's account from its samples, its cgroup's figures and its leaks (pure). */
export function taskAccount(
  sampled: SampledAccount,
  cgroup: CgroupFigures | undefined,
  leaked: TaskAccount['leaked'],
  thresholdMB: number | undefined,
): TaskAccount {
  const memorySource: TaskAccount['memory']['source'] = cgroup?.memoryPeakBytes !== undefined ? 'cgroup' : sampled.pssAtEverySample ? 'pss' : sampled.measured ? 'rss' : 'none';
  const peakBytes = memorySource === 'cgroup' ? cgroup!.memoryPeakBytes! : memorySource === 'pss' ? sampled.peakPssBytes! : sampled.peakRssBytes;
  const memory: TaskAccount['memory'] = {
    peakBytes,
    peakMB: peakBytes / BYTES_PER_MB,
    source: memorySource,
    peakRssBytes: sampled.peakRssBytes,
    lastRssBytes: sampled.lastRssBytes,
  };
  if (sampled.peakPssBytes !== undefined) memory.peakPssBytes = sampled.peakPssBytes;
  if (sampled.lastPssBytes !== undefined) memory.lastPssBytes = sampled.lastPssBytes;
  if (cgroup?.memoryCurrentBytes !== undefined) memory.cgroupCurrentBytes = cgroup.memoryCurrentBytes;
  if (thresholdMB !== undefined) {
    memory.thresholdMB = thresholdMB;
    memory.exceeded = memory.peakMB > thresholdMB;
  }
  const exact = cgroup?.cpuUserSeconds !== undefined && cgroup.cpuSystemSeconds !== undefined;
  const user = exact ? cgroup.cpuUserSeconds! : sampled.cpuUserSeconds;
  const system = exact ? cgroup.cpuSystemSeconds! : sampled.cpuSystemSeconds;
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    samples: sampled.samples,
    memory,
    cpu: { seconds: round(user + system), userSeconds: round(user), systemSeconds: round(system), source: exact ? 'cgroup' : 'samples' },
    leaked,
  };
}
