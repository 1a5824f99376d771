// `rtrack run [options] -- <command> [args...]`: the main job, a thin shell over runTracked().
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import {
  forwardSignals,
  platformReader,
  reapOrder,
  runMetricsText,
  runTracked,
  writeFileAtomic,
  type ForwardedSignal,
  type LogFormat,
  type ResourceTrackerConfig,
  type TaskReport,
} from '../index.js';
import { checkOutputPath, cliLogger, resolveConfig, UsageError, withKeepPatterns } from './common.js';
import { renderReapPlan, renderRunSummary } from './present.js';

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
  if (!process.stdin.isTTY || process.platform === 'win32') return undefined;
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
  checkOutputPath(options.report, '--report');
  checkOutputPath(options.metricsFile, '--metrics-file');
  const config = await resolveRunConfig(options);
  const logger = cliLogger(options);

  let phase: 'running' | 'reporting' = 'running';
  let interruptedBy: ForwardedSignal | undefined;
  const terminal = saveTerminal();
  const onSignal = (signal: ForwardedSignal): void => {
    if (phase !== 'reporting') return;
    if (signal === 'SIGINT') process.exit(130); // a second Ctrl+C while reporting: leave at once
    if (signal === 'SIGTERM' || signal === 'SIGHUP') interruptedBy ??= signal; // finish the report, then say so
  };

  const forwarder = forwardSignals({ reader: platformReader(), onSignal });
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
      reap: options.reap && !options.dryRun ? { graceMs: options.grace } : false,
    });
  } finally {
    forwarder.dispose();
  }
  if (interruptedBy) report.error = [report.error, `rtrack received ${interruptedBy} while reporting`].filter(Boolean).join('; ');

  if (report.error && report.exitCode !== 126 && report.exitCode !== 127) logger.error({ error: report.error }, 'tracking incomplete');
  if (report.error && (report.exitCode === 126 || report.exitCode === 127)) process.stderr.write(`rtrack: ${report.error}\n`);

  if (options.reap && options.dryRun && report.orphans.length > 0) {
    process.stderr.write(renderReapPlan(reapOrder(report.orphans), options.grace ?? 3000));
  }
  writeReport(report, options);
  if (options.metricsFile !== undefined) await writeFileAtomic(options.metricsFile, await runMetricsText(report));
  let exitCode = exitStatusOf(report, options.failOnOrphans ?? false);
  if (interruptedBy) exitCode = 128 + (constants.signals[interruptedBy] ?? 0);
  return { report, exitCode };
}

function writeReport(report: TaskReport, options: RunOptions): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (options.report === '-') {
    process.stdout.write(json);
    return;
  }
  if (options.report !== undefined) writeFileSync(options.report, json);
  const summary = renderRunSummary(report);
  // Start on a clean line: an interactive task may have left the cursor mid-line.
  if (summary) process.stderr.write(`${process.stderr.isTTY ? '\r\n' : ''}${summary}`);
}
