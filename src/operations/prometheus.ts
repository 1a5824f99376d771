// Prometheus metrics (prom-client): the machine scan for `watch`, and one run's figures in the
// node_exporter textfile format for `run --metrics-file`. Labels stay low-cardinality: no pids,
// no command lines, no tags.
import { createRequire } from 'node:module';
import type { Gauge, Registry } from 'prom-client';
import { costTotals } from '../rules/cost.js';
import { BYTES_PER_MB, totalMemoryMB } from '../rules/memory.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
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

/** The gauges `rtrack watch` serves, in their own prom-client registry. */
export interface WatchMetrics {
  registry: Registry;
  /** Sets every gauge from a scan. */
  update(scan: ScanReport): void;
  /** Times one scan (seconds, into the histogram). */
  startScanTimer(): () => void;
  /** Counts a failed scan; the previous values stay served. */
  scanFailed(): void;
  /** Counts a process `watch --reap` removed, by the agent whose session left it (`none` for runs). */
  reaped(agent: string): void;
}

/** Creates the watch metrics (and prom-client's default process metrics unless `defaultMetrics: false`). */
export function createWatchMetrics(options: { defaultMetrics?: boolean } = {}): WatchMetrics {
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
  const gauge = (name: string, help: string, labelNames: string[] = []): Gauge =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  const processes = gauge('rtrack_processes', 'Processes on the machine at the last scan.');
  const resident = gauge('rtrack_resident_bytes', 'Resident memory (RSS) of all processes at the last scan.');
  const mcpProcesses = gauge('rtrack_mcp_processes', 'Processes matching the MCP/browser pattern.');
  const mcpResident = gauge('rtrack_mcp_resident_bytes', 'Resident memory of the MCP/browser processes.');
  const leaked = gauge('rtrack_leaked_processes', 'Leaked processes: certain (tagged, owning run gone) or suspected (re-parented agent-like trees).', ['kind']);
  const leakedResident = gauge('rtrack_leaked_resident_bytes', 'Resident memory of the leaked processes.', ['kind']);
  const leakGroups = gauge('rtrack_leak_groups', 'Leaked trees (suspected) or tag groups (certain).', ['kind']);
  const oldest = gauge('rtrack_oldest_leak_age_seconds', 'Age of the oldest leaked tree, 0 when there is none.', ['kind']);
  const leakedPss = gauge('rtrack_leaked_pss_bytes', 'Proportional memory (PSS) of the leaked processes: what ending them gives back (RSS where PSS cannot be read).', ['kind']);
  const leakedCpu = gauge('rtrack_leaked_cpu_percent', 'CPU the leaked processes use now, in percent of one core.', ['kind']);
  const spinning = gauge('rtrack_spinning_leaks', 'Leaked processes using 90 % of a core or more.', ['kind']);
  const kept = gauge('rtrack_kept_processes', 'Processes declared to outlive their task (not leaks).');
  const keptResident = gauge('rtrack_kept_resident_bytes', 'Resident memory of the kept processes.');
  const lastScan = gauge('rtrack_last_scan_timestamp_seconds', 'When the last successful scan finished.');
  const duration = new Histogram({
    name: 'rtrack_scan_duration_seconds',
    help: 'Time one machine scan takes.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({ name: 'rtrack_scan_errors_total', help: 'Scans that failed.', registers: [registry] });
  const reapedCounter = new Counter({
    name: 'rtrack_reaped_processes_total',
    help: 'Certain leaks that watch --reap removed, by the agent whose session left them (none: a tracked run).',
    labelNames: ['agent'],
    registers: [registry],
  });

  const setGroups = (kind: string, groups: readonly LeakGroup[]): void => {
    leaked.set({ kind }, groups.reduce((s, g) => s + g.processes.length, 0));
    leakedResident.set({ kind }, bytes(groups.reduce((s, g) => s + g.totalMemoryMB, 0)));
    leakGroups.set({ kind }, groups.length);
    oldest.set({ kind }, groups.reduce((m, g) => Math.max(m, g.ageSeconds), 0));
    const cost = costTotals(groups.flatMap((g) => g.processes));
    leakedPss.set({ kind }, cost.pssBytes);
    leakedCpu.set({ kind }, cost.cpuPercent);
    spinning.set({ kind }, cost.spinning);
  };

  return {
    registry,
    update(scan) {
      processes.set(scan.processCount);
      resident.set(bytes(scan.totalMemoryMB));
      mcpProcesses.set(scan.mcpProcessCount);
      mcpResident.set(bytes(scan.mcpMemoryMB));
      setGroups('certain', scan.certain);
      setGroups('suspected', scan.suspected);
      kept.set(scan.kept.length);
      keptResident.set(bytes(totalMemoryMB(scan.kept)));
      lastScan.set(scan.timestamp.getTime() / 1000);
    },
    startScanTimer: () => duration.startTimer(),
    scanFailed: () => errors.inc(),
    reaped: (agent) => reapedCounter.inc({ agent }),
  };
}

/** One run's figures in the Prometheus text format (for node_exporter's textfile collector). */
export async function runMetricsText(report: TaskReport): Promise<string> {
  const { Gauge, Registry } = promClient();
  const registry = new Registry();
  const gauge = (name: string, help: string, value: number): void => {
    new Gauge({ name, help, registers: [registry] }).set(value);
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
