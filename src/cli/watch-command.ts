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

export async function watchCommand(options: WatchOptions): Promise<number> {
  // Each scan makes short-lived garbage in bursts, and V8 answers by growing its young generation
  // from 2 to 16 MB, which a watch then holds forever: at 1,000 processes that was 8 MB of its
  // resident memory for no measurable CPU (bench/watch-memory.js). Keep it at its initial size.
  setFlagsFromString('--semi-space-growth-factor=1');
  const config = withKeepPatterns(await resolveConfig(options.config), options.keep);
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
    reap: options.reap ? { lingerMs: options.linger, graceMs: options.grace } : undefined,
  });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'rtrack watch stopping');
  await server.close();
  return 0;
}
