// Prometheus metrics (prom-client): the machine scan for `watch`, and one run's figures in the
// node_exporter textfile format for `run --metrics-file`. Labels stay low-cardinality: no pids,
// no command lines, no tags.
import { createRequire } from 'node:module';
import { cpus as osCpus } from 'node:os';
import type { Gauge, Registry } from 'prom-client';
import { costTotals } from '../rules/cost.js';
import { BYTES_PER_MB, totalMemoryMB } from '../rules/memory.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
import type { UserFigures } from '../rules/watch-scope.js';
import type { ReapResultKind } from './reap.js';
import type { ScanReport } from './scan-machine.js';
import type { TaskReport } from './run-tracked.js';

const bytes = (mb: number): number => Math.round(mb * BYTES_PER_MB);

/** Set by the CLI's build: the path of its own copy of prom-client, beside it (bundle.js). */
declare const RTRACK_BUNDLED_PROM_CLIENT: string | undefined;

/**
 * prom-client, required the first time metrics are made: the bundled CLI holds every command in one
 * file, and a static import would load prom-client (about 50 ms) for all of them. The CLI has its own
 * copy; `rtrack/metrics` loads the user's (an optional peer dependency: a library user who makes no
 * metrics does not install it).
 */
const promClient = (): typeof import('prom-client') => {
  const id = typeof RTRACK_BUNDLED_PROM_CLIENT === 'string' ? RTRACK_BUNDLED_PROM_CLIENT : 'prom-client';
  try {
    return createRequire(import.meta.url)(id) as typeof import('prom-client');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /['"]prom-client['"]/.test((err as Error).message)) {
      throw new Error('rtrack/metrics needs prom-client, an optional peer dependency of rtrack: npm install prom-client');
    }
    throw err;
  }
};

/** What a watch reaped of one process: one of the reaper's results (ReapResultKind). */
export const REAP_RESULTS: readonly ReapResultKind[] = ['terminated', 'killed', 'gone', 'identity-changed', 'not-permitted', 'unreadable', 'unattributed', 'refused', 'kept', 'in-use', 'survived'];

/** A scan as `rtrack watch` serves it: scanMachine's report, and each user's figures when the watch made them. */
export type WatchScanReport = ScanReport & {
  /** Each user's figures (rules/watch-scope.ts figuresByUser); without them, the report's totals are served with `user=""`. */
  users?: ReadonlyMap<string, UserFigures>;
  /** Whether the watch sees the host's PID namespace (Linux); undefined when it cannot tell. */
  hostPidNamespace?: boolean;
  /** The user a process runs as (name, or uid), for the reaper's records. */
  userOf?: (pid: number) => string;
  /** Why a certain leak may not be reaped by this watch (its user's state directory cannot be read), or undefined. */
  notReapable?: (pid: number) => string | undefined;
};

/** The gauges `rtrack watch` serves, in their own prom-client registry. */
export interface WatchMetrics {
  registry: Registry;
  /** Sets every gauge from a scan. */
  update(scan: WatchScanReport): void;
  /** Times one scan (seconds, into the histogram). */
  startScanTimer(): () => void;
  /** Counts a failed scan; the previous values stay served. */
  scanFailed(): void;
  /** Counts a process `watch --reap` handed to the reaper, by what reaping did to it. */
  reaped(result: ReapResultKind): void;
}

/** Options of `createWatchMetrics()`. */
export interface WatchMetricsOptions {
  /** prom-client's default metrics (`process_*`, `nodejs_*`) for the watch itself (default true; `rtrack watch` leaves them out unless `--runtime-metrics`). */
  defaultMetrics?: boolean;
  /** The time between scans, in ms, served as `rtrack_scan_interval_seconds` (what the staleness alert compares the last scan's age with). */
  intervalMs?: number;
  /** rtrack's version, for `rtrack_build_info`. */
  version?: string;
  /** CPUs of the machine, what `rtrack_leaked_cpu_ratio` is a share of (default: os.cpus().length). */
  cpus?: number;
}

/** Creates the watch metrics (and prom-client's default process metrics unless `defaultMetrics: false`). */
export function createWatchMetrics(options: WatchMetricsOptions = {}): WatchMetrics {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient();
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client also exports these gauges under a `_total` name, which Prometheus reserves for
    // counters (promtool rejects them); the same values stay as nodejs_active_{handles,requests,resources}.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }
  const cpus = options.cpus ?? Math.max(1, osCpus().length);
  const gauges = watchGauges(Gauge, registry, options);
  const duration = new Histogram({
    name: 'rtrack_scan_duration_seconds',
    help: 'Time one machine scan takes.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({ name: 'rtrack_scan_errors_total', help: 'Scans that failed.', registers: [registry] });
  const reapedCounter = new Counter({
    name: 'rtrack_reaped_processes_total',
    help: 'Certain leaks watch --reap handed to the reaper, by what it did (terminated, killed: removed; gone; the rest: refused or failed).',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of REAP_RESULTS) reapedCounter.inc({ result }, 0); // every result present from 0: increase() sees the first

  return {
    registry,
    update(scan) {
      // Users with no process left lose their series: the label stays bounded by who runs something now.
      for (const g of gauges.perUser) g.reset();
      if (scan.users) for (const [user, figures] of scan.users) setUser(gauges, cpus, user, figures);
      else setUser(gauges, cpus, '', totalsOf(scan));
      if (scan.hostPidNamespace !== undefined) gauges.hostNamespace.set(scan.hostPidNamespace ? 1 : 0);
      gauges.lastScan.set(Date.now() / 1000);
    },
    startScanTimer: () => duration.startTimer(),
    scanFailed: () => errors.inc(),
    reaped: (result) => reapedCounter.inc({ result }),
  };
}

/** The watch's gauges, registered in `registry` in the order they are served. */
function watchGauges(Gauge: typeof import('prom-client').Gauge, registry: Registry, options: WatchMetricsOptions) {
  const gauge = (name: string, help: string, labelNames: string[] = []): Gauge =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  const byUser = ['user'];
  const byKind = ['kind', 'user'];
  const processes = gauge('rtrack_processes', 'Processes at the last scan, by the user they run as (a per-user watch: its own user\'s only).', byUser);
  const resident = gauge('rtrack_resident_bytes', 'Resident memory (RSS) of those processes at the last scan.', byUser);
  const mcpProcesses = gauge('rtrack_mcp_processes', 'Processes matching the MCP/browser pattern.', byUser);
  const mcpResident = gauge('rtrack_mcp_resident_bytes', 'Resident memory of the MCP/browser processes.', byUser);
  const leaked = gauge('rtrack_leaked_processes', 'Leaked processes: certain (tagged, owning run gone) or suspected (re-parented agent-like trees).', byKind);
  const leakedResident = gauge('rtrack_leaked_resident_bytes', 'Resident memory of the leaked processes.', byKind);
  const leakGroups = gauge('rtrack_leak_groups', 'Leaked trees (suspected) or tag groups (certain), by the user of their oldest process.', byKind);
  const oldest = gauge('rtrack_oldest_leak_age_seconds', 'Age of the oldest leaked tree, 0 when there is none.', byKind);
  const leakedPss = gauge('rtrack_leaked_pss_bytes', 'Proportional memory (PSS) of the leaked processes: what ending them gives back (RSS where PSS cannot be read).', byKind);
  const leakedCpu = gauge('rtrack_leaked_cpu_ratio', 'CPU the leaked processes use now, as a share of the machine (0-1: 1 is every CPU busy).', byKind);
  const spinning = gauge('rtrack_spinning_leaks', 'Leaked processes using 90 % of a core or more.', byKind);
  const kept = gauge('rtrack_kept_processes', 'Processes declared to outlive their task (not leaks).', byUser);
  const keptResident = gauge('rtrack_kept_resident_bytes', 'Resident memory of the kept processes.', byUser);
  const lastScan = gauge('rtrack_last_scan_timestamp_seconds', 'When the last successful scan finished (Unix time).');
  const interval = gauge('rtrack_scan_interval_seconds', 'The time between scans the watch was started with.');
  if (options.intervalMs !== undefined) interval.set(options.intervalMs / 1000);
  const hostNamespace = gauge('rtrack_pid_namespace_host', '1 when the watch sees the host\'s PID namespace, 0 when it sees only a container\'s (it then misses every process outside it).');
  const buildInfo = gauge('rtrack_build_info', 'Always 1: the rtrack version and Node.js version the watch runs.', ['version', 'node']);
  buildInfo.set({ version: options.version ?? 'unknown', node: process.version }, 1);
  const perUser = [processes, resident, mcpProcesses, mcpResident, leaked, leakedResident, leakGroups, oldest, leakedPss, leakedCpu, spinning, kept, keptResident];
  return { processes, resident, mcpProcesses, mcpResident, leaked, leakedResident, leakGroups, oldest, leakedPss, leakedCpu, spinning, kept, keptResident, lastScan, hostNamespace, perUser };
}

/** Sets one user's series from their figures (`cpus`: what the CPU ratio is a share of). */
function setUser(gauges: ReturnType<typeof watchGauges>, cpus: number, user: string, f: UserFigures): void {
  const { processes, resident, mcpProcesses, mcpResident, kept, keptResident, leaked, leakedResident, leakGroups, oldest, leakedPss, leakedCpu, spinning } = gauges;
  processes.set({ user }, f.processes);
  resident.set({ user }, f.residentBytes);
  mcpProcesses.set({ user }, f.mcpProcesses);
  mcpResident.set({ user }, f.mcpResidentBytes);
  kept.set({ user }, f.kept);
  keptResident.set({ user }, f.keptResidentBytes);
  for (const kind of ['certain', 'suspected'] as const) {
    const k = f[kind];
    leaked.set({ kind, user }, k.processes);
    leakedResident.set({ kind, user }, k.residentBytes);
    leakGroups.set({ kind, user }, k.groups);
    oldest.set({ kind, user }, k.oldestAgeSeconds);
    leakedPss.set({ kind, user }, k.pssBytes);
    leakedCpu.set({ kind, user }, k.cpuCores / cpus);
    spinning.set({ kind, user }, k.spinning);
  }
}

/** A report without users (a library caller's scanMachine): its totals, under `user=""` (no user label in Prometheus). */
function totalsOf(scan: ScanReport): UserFigures {
  const leaks = (groups: readonly LeakGroup[]): UserFigures['certain'] => {
    const cost = costTotals(groups.flatMap((g) => g.processes));
    return {
      processes: groups.reduce((s, g) => s + g.processes.length, 0),
      residentBytes: bytes(groups.reduce((s, g) => s + g.totalMemoryMB, 0)),
      groups: groups.length,
      oldestAgeSeconds: groups.reduce((m, g) => Math.max(m, g.ageSeconds), 0),
      pssBytes: cost.pssBytes,
      cpuCores: cost.cpuPercent / 100,
      spinning: cost.spinning,
    };
  };
  return {
    processes: scan.processCount,
    residentBytes: bytes(scan.totalMemoryMB),
    mcpProcesses: scan.mcpProcessCount,
    mcpResidentBytes: bytes(scan.mcpMemoryMB),
    kept: scan.kept.length,
    keptResidentBytes: bytes(totalMemoryMB(scan.kept)),
    certain: leaks(scan.certain),
    suspected: leaks(scan.suspected),
  };
}

/**
 * One run's figures in the Prometheus text format (for node_exporter's textfile collector). `job`:
 * a label (`rtrack_job`) on every series, so that the files of several runs in one directory
 * (`run --metrics-dir`) are told apart.
 */
export async function runMetricsText(report: TaskReport, options: { job?: string } = {}): Promise<string> {
  const { Gauge, Registry } = promClient();
  const registry = new Registry();
  const labels = options.job === undefined ? {} : { rtrack_job: options.job };
  const gauge = (name: string, help: string, value: number): void => {
    new Gauge({ name, help, labelNames: Object.keys(labels), registers: [registry] }).set(labels, value);
  };
  gauge('rtrack_run_orphans', 'Processes the last tracked run left running (tag or lineage evidence).', report.orphans.length);
  gauge('rtrack_run_leaked_resident_bytes', 'Resident memory of the processes the last run left.', bytes(report.leakedMemoryMB));
  gauge('rtrack_run_suspects', 'Processes orphaned during the last run but not attributed to it.', report.suspects.length);
  gauge('rtrack_run_kept_processes', 'Processes the last run declared to outlive it.', report.kept.length);
  gauge('rtrack_run_memory_delta_bytes', 'Machine-wide memory growth during the last run (after - before).', bytes(report.memoryDeltaMB));
  gauge('rtrack_run_duration_seconds', 'Duration of the last run.', report.durationMs / 1000);
  gauge('rtrack_run_exit_code', 'Exit code of the last run\'s command (-1 when it died of a signal).', report.exitCode ?? -1);
  gauge('rtrack_run_timestamp_seconds', 'When the last run ended.', Date.now() / 1000);
  return registry.metrics();
}
