// `rtrack run [options] -- <command> [args...]`: the main job, a thin shell over runTracked().
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { resolveConfig } from '../config.js';
import type { LogFormat } from '../log.js';
import { writeFileAtomic } from '../files.js';
import { reapOrder } from '../operations/reap.js';
import { runTracked, type TaskReport } from '../operations/run-tracked.js';
import { locateCgroupParent } from '../platform/cgroup.js';
import type { CgroupMode, ResourceTrackerConfig } from '../types.js';
import { forwardSignals, type ForwardedSignal } from './signals.js';
import { checkOutputPath, cliLogger, requireReapFor, UsageError, withKeepPatterns } from './common.js';
import { renderReapPlan, renderRunSummary, type Layout } from './present.js';
import { firstTime } from '../said-once.js';
import { terminalLayout } from './terminal-layout.js';

/** The record (src/said-once.ts) that the cgroup hint was said. */
const CGROUP_HINT_SAID = 'said-cgroup-hint';

export interface RunOptions {
  config?: string;
  threshold?: number;
  mcpOnly?: boolean;
  tracking?: boolean;
  keep?: string[];
  logFormat?: LogFormat;
  quiet?: boolean;
  report?: string;
  failOnOrphans?: boolean;
  reap?: boolean;
  grace?: number;
  dryRun?: boolean;
  metricsFile?: string;
  metricsDir?: string;
  metricsJob?: string;
  cgroup?: CgroupMode;
}

export const EXIT_ORPHANS = 3;
export const EXIT_TRACKING_FAILED = 4;

/**
 * Exit status of a run: the command's, 128 + n when it died of signal n; when the command
 * succeeded, 4 if tracking failed (the report's `error` says what) or 3 with --fail-on-orphans.
 */
export function exitStatusOf(report: TaskReport, failOnOrphans: boolean): number {
  let status = report.exitCode ?? (report.signal ? 128 + (constants.signals[report.signal as NodeJS.Signals] ?? 0) : 1);
  if (status === 0 && report.error !== undefined) status = EXIT_TRACKING_FAILED;
  else if (failOnOrphans && status === 0 && report.orphans.length > 0) status = EXIT_ORPHANS;
  return status;
}

/** The terminal's modes before the task, so an agent killed in raw mode cannot leave it unusable. */
function saveTerminal(): string | undefined {
  if (!isatty(0) || process.platform === 'win32') return undefined; // not process.stdin: making that stream costs a start 1 ms
  try {
    return execFileSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function restoreTerminal(saved: string | undefined): void {
  if (!saved) return;
  try {
    execFileSync('stty', [saved], { stdio: ['inherit', 'ignore', 'ignore'] });
  } catch {
    // the terminal is gone
  }
}

export async function resolveRunConfig(options: RunOptions): Promise<ResourceTrackerConfig> {
  let config = await resolveConfig(options.config);
  if (options.threshold !== undefined) config.memoryThresholdMB = options.threshold;
  if (options.mcpOnly) config.logOrphanedMCPOnly = true;
  if (options.tracking === false) config.enabled = false;
  if (options.cgroup !== undefined) config.cgroup = options.cgroup;
  config = withKeepPatterns(config, options.keep);
  return config;
}

export interface RunOutcome {
  report: TaskReport;
  exitCode: number;
}

/** Runs the task, reports, and returns the exit status; shared by `run` and `demo`. */
export async function executeRun(commandLine: string[], options: RunOptions): Promise<RunOutcome> {
  const [command, ...args] = commandLine;
  if (command === undefined) throw new UsageError('run: no command given (usage: rtrack run [options] -- <command> [args...])');
  requireReapFor(options, { dryRun: '--dry-run' });
  checkOutputPath(options.report, '--report');
  checkOutputPath(options.metricsFile, '--metrics-file');
  const metricsFile = runMetricsPath(options);
  const config = await resolveRunConfig(options);
  if (config.enabled && config.cgroup === 'required') {
    const where = locateCgroupParent();
    if ('why' in where) throw new UsageError(`--cgroup required: ${where.why}${where.hint ? ` (${where.hint})` : ''}; the command was not started`);
  }
  const logger = cliLogger(options);

  let phase: 'running' | 'reporting' = 'running';
  let interruptedBy: ForwardedSignal | undefined;
  const skipGrace = new AbortController();
  const terminal = saveTerminal();
  const onSignal = (signal: ForwardedSignal): void => {
    if (phase !== 'reporting') return;
    // A Ctrl+C while reporting: stop waiting out the grace period, but still kill and report.
    if (signal === 'SIGINT') {
      interruptedBy ??= signal;
      skipGrace.abort();
    }
    if (signal === 'SIGTERM' || signal === 'SIGHUP') interruptedBy ??= signal; // finish the report, then say so
  };
  const writeFailures = new Set<string>();
  const saveReport = async (report: TaskReport): Promise<void> => {
    if (options.report === undefined || options.report === '-') return;
    try {
      await writeFileAtomic(options.report, `${JSON.stringify(report, null, 2)}\n`);
    } catch (err) {
      writeFailures.add(`rtrack: cannot write the report to ${options.report}: ${(err as Error).message}`);
    }
  };

  const forwarder = forwardSignals({ onSignal });
  let report: TaskReport;
  try {
    report = await runTracked(command, args, {
      config,
      logger,
      onSpawn: (child) => forwarder.attach(child),
      onExit: () => {
        phase = 'reporting';
        restoreTerminal(terminal);
      },
      // Saved before reaping (reaping may take the grace period, and rtrack may be killed meanwhile), and again after.
      onReport: options.reap && !options.dryRun ? saveReport : undefined,
      reap: options.reap && !options.dryRun ? { graceMs: options.grace, skipGrace: skipGrace.signal } : false,
      cpuSampleMs: 200, // the summary flags a leak that spins (SPINNING): worth 200 ms at the end of a run that leaked
      // How to give runs a cgroup: said once per machine (and only where the INFO lines are shown)
      onCgroupHint: (hint) => {
        if (!options.quiet && firstTime(CGROUP_HINT_SAID)) logger.info({ hint }, 'to give each run a cgroup of its own (said once)');
      },
    });
  } finally {
    forwarder.dispose();
  }
  if (options.reap && options.dryRun) report.reaped ??= [];
  if (interruptedBy) report.error = [report.error, `rtrack received ${interruptedBy} while reporting`].filter(Boolean).join('; ');

  if (report.error && report.exitCode !== 126 && report.exitCode !== 127) logger.error({ error: report.error }, 'tracking incomplete');
  if (report.error && (report.exitCode === 126 || report.exitCode === 127)) process.stderr.write(`rtrack: ${report.error}\n`);

  const layout = await terminalLayout(process.stderr);
  if (options.reap && options.dryRun && report.orphans.length > 0) {
    process.stderr.write(renderReapPlan(reapOrder(report.orphans), options.grace ?? 3000, layout));
  }
  await saveReport(report);
  if (options.report === '-') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printSummary(report, layout);
  for (const file of [options.metricsFile, metricsFile?.path]) {
    if (file === undefined) continue;
    try {
      const { runMetricsText } = await import('../operations/prometheus.js'); // prom-client, only when asked for
      await writeFileAtomic(file, await runMetricsText(report, metricsFile && file === metricsFile.path ? { job: metricsFile.job } : options.metricsJob !== undefined ? { job: options.metricsJob } : {}));
    } catch (err) {
      writeFailures.add(`rtrack: cannot write the metrics to ${file}: ${(err as Error).message}`);
    }
  }
  if (options.metricsDir !== undefined) pruneRunMetrics(options.metricsDir);
  // A report that could not be saved is said plainly; the exit status stays the command's.
  for (const line of writeFailures) process.stderr.write(`${line}\n`);
  let exitCode = exitStatusOf(report, options.failOnOrphans ?? false);
  if (interruptedBy) exitCode = 128 + (constants.signals[interruptedBy] ?? 0);
  return { report, exitCode };
}

/** How long a run's file stays in a --metrics-dir: each run removes the files of runs that ended longer ago. */
export const RUN_METRICS_MAX_AGE_MS = 24 * 3600_000;
const RUN_METRICS = /^rtrack-run-[A-Za-z0-9_.-]+\.prom$/;

/**
 * `--metrics-dir`: a file of the run's own, `rtrack-run-<job>.prom` (`--metrics-job`, else this run's
 * start and pid), its series labelled `rtrack_job`: overlapping runs never overwrite each other's.
 */
function runMetricsPath(options: RunOptions): { path: string; job: string } | undefined {
  if (options.metricsJob !== undefined && !/^[A-Za-z0-9_.-]{1,100}$/.test(options.metricsJob)) throw new UsageError(`--metrics-job ${JSON.stringify(options.metricsJob)}: expected letters, digits, '.', '_' or '-' (at most 100)`);
  if (options.metricsDir === undefined) return undefined;
  let isDir = false;
  try {
    isDir = statSync(options.metricsDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`--metrics-dir ${options.metricsDir}: not a directory`);
  const job = options.metricsJob ?? `${Math.floor(Date.now() / 1000)}-${process.pid}`;
  return { path: join(options.metricsDir, `rtrack-run-${job}.prom`), job };
}

/** Removes this user's run files in a --metrics-dir older than RUN_METRICS_MAX_AGE_MS (the directory stays bounded); never fails the run. */
function pruneRunMetrics(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!RUN_METRICS.test(name)) continue;
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile() && (uid === undefined || st.uid === uid) && Date.now() - st.mtimeMs > RUN_METRICS_MAX_AGE_MS) unlinkSync(join(dir, name));
    } catch {
      // removed meanwhile
    }
  }
}

function printSummary(report: TaskReport, layout: Layout | undefined): void {
  const summary = renderRunSummary(report, layout);
  // Start on a clean line: an interactive task may have left the cursor mid-line.
  if (summary) process.stderr.write(`${process.stderr.isTTY ? '\r\n' : ''}${summary}`);
}
