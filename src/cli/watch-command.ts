// `rtrack watch`: scans the machine at an interval and serves the figures to Prometheus, like a
// daemon: SIGHUP reads the config again, SIGUSR1 never opens Node's inspector, SIGTERM and SIGINT let
// the scan in flight finish and exit 0.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as inspector from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { defaultConfigPath, resolveConfig } from '../config.js';
import { packageFile, prepareStateDirectory, stateDirectory } from '../files.js';
import type { Logger } from '../log.js';
import { platformReader } from '../platform/index.js';
import { readPrivileges } from '../platform/users.js';
import { SYSTEM_PORT, systemPrivileges, userPort, watchScope, type WatchScope } from '../rules/watch-scope.js';
import type { WebConfig } from '../operations/web-config.js';
import type { WatchRules } from '../operations/watch-scan.js';
import type { ResourceTrackerConfig } from '../types.js';
import { cliLogger, UsageError, withKeepPatterns, type LogOptions } from './common.js';

export interface WatchOptions extends LogOptions {
  scope: WatchScope | 'auto';
  host: string;
  port?: number;
  interval: number;
  config?: string;
  keep?: string[];
  all?: boolean;
  reap?: boolean;
  linger: number;
  grace: number;
  webConfig?: string;
  hostRoot: string;
  runtimeMetrics?: boolean;
}

/**
 * What V8 is told when `rtrack watch` starts: it runs for days, and what it holds resident counts
 * (bench/watch-memory.js; bench/watch-scan.js applies the same flags):
 * - `--semi-space-growth-factor=1`: each scan makes short-lived garbage in bursts, and V8 answered by
 *   growing its young generation from 2 to 16 MB, held forever (8 MB at 1,000 processes, no CPU).
 * - `--optimize-for-size`: V8 keeps its heap closer to what it holds (the live heap of a watch at
 *   1,000 processes is 7.4 MB; V8 kept 17–18 MB committed): after an hour at 1,000 processes
 *   1.37× a bare Node's resident memory, not growing (the build before: 1.57×, growing), and a scan's
 *   CPU unchanged (1.14× the C floor against 1.18× without it, 25 interleaved runs).
 * - `--enable-experimental-regexp-engine-on-excessive-backtracks`: a system-wide watch matches every
 *   user's own keep patterns against that user's command lines, so a pattern that backtracks
 *   without end (`^(a+)+$` against `aaa…!`) would hold root's watch; past 50,000 backtracks V8 runs it
 *   again on its linear-time engine (any pattern without backreferences or lookaround). Costs
 *   nothing until then.
 * Not `--max-opt=1` (the session follower's): 1.19× after the hour, but scans on the baseline
 * compiler cost 1.92× the floor. Set at run time, as V8 goes on reading them; not every flag
 * survives that (`--single-threaded-gc` set so crashed V8). What cannot be set here, because Node
 * reads it only at its start: one V8 worker thread (`NODE_OPTIONS=--v8-pool-size=1`, 1.27× after
 * the hour), which the systemd unit in examples/systemd/ sets.
 */
export const WATCH_V8_FLAGS = ['--semi-space-growth-factor=1', '--optimize-for-size', '--enable-experimental-regexp-engine-on-excessive-backtracks'];

/**
 * SIGUSR1 makes Node open its inspector on 127.0.0.1:9229, where any local user can run code in the
 * process — as root, in a system-wide watch. A listener of our own replaces Node's (bin/rtrack.js
 * adds one before anything else is loaded); an inspector opened before that (a SIGUSR1 during Node's
 * own start) is closed at once.
 */
function refuseInspector(logger: Logger): void {
  process.on('SIGUSR1', () => logger.warn({ signal: 'SIGUSR1' }, 'ignored (rtrack watch never opens the Node.js inspector)'));
  if (inspector.url() !== undefined) {
    inspector.close();
    logger.warn({}, 'closed the Node.js inspector that was open (started with --inspect, or sent SIGUSR1 while starting)');
  }
}

export async function watchCommand(options: WatchOptions): Promise<number> {
  const logger = cliLogger(options);
  refuseInspector(logger);
  for (const flag of WATCH_V8_FLAGS) setFlagsFromString(flag);
  const privileges = readPrivileges();
  const decided = watchScope(options.scope, privileges);
  if ('error' in decided) throw new UsageError(decided.error);
  const { scope } = decided;
  const uid = process.geteuid?.() ?? 0;
  const port = options.port ?? (scope === 'system' ? SYSTEM_PORT : userPort(uid));
  if (port === undefined) throw new UsageError(`no default port for uid ${uid} (20000 + uid is past 65535): give --port`);

  const rulesOf = (config: ResourceTrackerConfig): WatchRules => ({ keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents });
  let config = withKeepPatterns(await resolveConfig(options.config, 'machine'), options.keep);
  const { readWebConfig } = options.webConfig ? await import('../operations/web-config.js') : { readWebConfig: undefined };
  const web: WebConfig | undefined = options.webConfig ? readWebConfig!(options.webConfig) : undefined;

  const reader = platformReader();
  const state = stateDirectory();
  const { createWatchScanner } = await import('../operations/watch-scan.js');
  const scanner = createWatchScanner({
    scope,
    rules: rulesOf(config),
    all: options.all,
    // Under 15 s between scans, the stat descriptors kept open are worth a page of kernel memory a process.
    keepOpen: options.interval < 15_000,
    state,
    config: resolve(options.config ?? defaultConfigPath('machine')),
    hostRoot: options.hostRoot,
    readsOthersState: systemPrivileges(privileges).readsOthersState,
    reader,
  });
  if (scanner.hostPidNamespace === false) {
    logger.warn({}, "this watch runs in a PID namespace that is not the host's: it sees only that namespace's processes and reports nothing of the rest of the machine (a container needs hostPID: true)");
  }
  let journal: ((records: import('../tracking/session-records.js').WatchReapRecord[]) => void) | undefined;
  if (options.reap) {
    const problem = prepareStateDirectory(state);
    if (problem) logger.warn({ problem }, 'what is reaped is logged but not journalled');
    else {
      const { appendWatchReaps } = await import('../operations/agent-sessions.js');
      journal = (records) => appendWatchReaps(state, records);
    }
  }
  const { createWatchMetrics } = await import('../operations/prometheus.js');
  const { startWatchServer } = await import('../operations/watch-server.js'); // prom-client
  const version = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  const gate = { get keep() { return config.keep; }, get keepSharedDaemons() { return config.keepSharedDaemons; }, get agents() { return config.agents; }, get states() { return scanner.states(); }, get userFiles() { return scanner.userFiles; } };
  const server = await startWatchServer({
    host: options.host,
    port,
    intervalMs: options.interval,
    scan: () => scanner.scan(),
    logger,
    metrics: createWatchMetrics({ defaultMetrics: options.runtimeMetrics ?? false, intervalMs: options.interval, version }),
    ...(web ? { web } : {}),
    reap: options.reap ? { lingerMs: options.linger, graceMs: options.grace, gate, journal, bootId: reader.readBootId?.() } : undefined,
  });
  logger.info({ scope, user: scope === 'user' ? uid : 'all', pid_namespace: scanner.hostPidNamespace === false ? 'not the host\'s' : scanner.hostPidNamespace ? 'host' : 'unknown' }, 'rtrack watch scope');

  // SIGHUP: the config (and --web-config) read again; what changed is logged; a bad one keeps the previous.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        const next = withKeepPatterns(await resolveConfig(options.config, 'machine'), options.keep);
        const nextWeb = options.webConfig ? readWebConfig!(options.webConfig) : undefined;
        await server.setWebConfig(nextWeb);
        const changed = [
          ...(JSON.stringify(next.keep) !== JSON.stringify(config.keep) ? ['keep'] : []),
          ...(next.keepSharedDaemons !== config.keepSharedDaemons ? ['keep_shared_daemons'] : []),
          ...(JSON.stringify(next.agents) !== JSON.stringify(config.agents) ? ['agents'] : []),
          ...(options.webConfig ? ['web_config'] : []),
        ];
        config = next;
        scanner.setRules(rulesOf(config));
        logger.info({ signal: 'SIGHUP', changed: changed.length > 0 ? changed.join(',') : 'nothing' }, 'configuration reloaded');
      } catch (err) {
        logger.error({ signal: 'SIGHUP', error: (err as Error).message }, 'configuration not reloaded; the previous one stays');
      }
    });
  });
  const signal = await new Promise<string>((resolve) => {
    process.on('SIGTERM', () => resolve('SIGTERM'));
    process.on('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'rtrack watch stopping');
  await server.close();
  return 0;
}
