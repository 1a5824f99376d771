// `rtrack watch`: scans the machine at an interval and serves the figures to Prometheus until
// SIGTERM or SIGINT.
import { setFlagsFromString } from 'node:v8';
import { resolveConfig } from '../config.js';
import { scanMachine } from '../operations/scan-machine.js';
import { cliLogger, withKeepPatterns, type LogOptions } from './common.js';

export interface WatchOptions extends LogOptions {
  host: string;
  port: number;
  interval: number;
  config?: string;
  keep?: string[];
  all?: boolean;
  reap?: boolean;
  linger: number;
  grace: number;
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
 * Not `--max-opt=1` (the session follower's): 1.19× after the hour, but scans on the baseline
 * compiler cost 1.92× the floor. Set at run time, as V8 goes on reading them; not every flag
 * survives that (`--single-threaded-gc` set so crashed V8). What cannot be set here, because Node
 * reads it only at its start: one V8 worker thread (`NODE_OPTIONS=--v8-pool-size=1`, 1.27× after
 * the hour), which the systemd unit in examples/systemd/ sets.
 */
export const WATCH_V8_FLAGS = ['--semi-space-growth-factor=1', '--optimize-for-size'];

export async function watchCommand(options: WatchOptions): Promise<number> {
  for (const flag of WATCH_V8_FLAGS) setFlagsFromString(flag);
  const config = withKeepPatterns(await resolveConfig(options.config, 'machine'), options.keep);
  const logger = cliLogger(options);
  const cache = {};
  const { startWatchServer } = await import('../operations/watch-server.js'); // prom-client
  const server = await startWatchServer({
    host: options.host,
    port: options.port,
    intervalMs: options.interval,
    // One cache for the life of watch: each scan reads the environments of new processes only.
    // Under 15 s between scans, their CPU is worth a page of kernel memory a process (keepOpen).
    scan: () => scanMachine({ keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents, all: options.all, cache, keepOpen: options.interval < 15_000 }),
    logger,
    reap: options.reap ? { lingerMs: options.linger, graceMs: options.grace, gate: { keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents } } : undefined,
  });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'rtrack watch stopping');
  await server.close();
  return 0;
}
