// `rtrack watch`: scans the machine at an interval and serves the figures to Prometheus until
// SIGTERM or SIGINT.
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
  const config = withKeepPatterns(await resolveConfig(options.config), options.keep);
  const logger = cliLogger(options);
  const cache = {};
  const { startWatchServer } = await import('../operations/watch-server.js'); // prom-client
  const server = await startWatchServer({
    host: options.host,
    port: options.port,
    intervalMs: options.interval,
    // One cache for the life of watch: each scan reads the environments of new processes only.
    scan: () => scanMachine({ keep: config.keep, keepSharedDaemons: config.keepSharedDaemons, agents: config.agents, all: options.all, cache }),
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
