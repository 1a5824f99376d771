// The watch loop and its HTTP endpoint: scan at an interval, serve /metrics and /healthz. A failed
// scan is logged and counted, and the previous values stay served.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { createWatchMetrics, type WatchMetrics } from './prometheus.js';
import type { ScanReport } from './scan-machine.js';

/** Options of `startWatchServer()`. */
export interface WatchServerOptions {
  host?: string;
  port?: number;
  intervalMs: number;
  /** One machine scan (scanMachine with the user's options). */
  scan: () => Promise<ScanReport>;
  logger: Logger;
  metrics?: WatchMetrics;
}

/** A running `rtrack watch` server. */
export interface WatchServer {
  /** Where the metrics are served, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
  metrics: WatchMetrics;
  /** Stops scanning and closes the server. */
  close(): Promise<void>;
}

const leakCount = (groups: readonly { processes: readonly unknown[] }[]): number => groups.reduce((s, g) => s + g.processes.length, 0);

/** Scans at once, then every `intervalMs`, and serves `GET /metrics` and `GET /healthz` until closed. */
export async function startWatchServer(options: WatchServerOptions): Promise<WatchServer> {
  const { logger } = options;
  const metrics = options.metrics ?? createWatchMetrics();
  let lastSummary = '';
  let closed = false;

  const scanOnce = async (): Promise<void> => {
    const done = metrics.startScanTimer();
    try {
      const scan = await options.scan();
      metrics.update(scan);
      const fields = {
        certain_processes: leakCount(scan.certain),
        suspected_processes: leakCount(scan.suspected),
        kept_processes: scan.kept.length,
      };
      const summary = JSON.stringify(fields);
      if (summary !== lastSummary) logger.info({ ...fields, processes: scan.processCount }, 'scan finished'); // only when it changes
      lastSummary = summary;
    } catch (err) {
      metrics.scanFailed();
      logger.error({ error: (err as Error).message }, 'scan failed; serving the previous values');
    } finally {
      done();
    }
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });

  await scanOnce();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/metrics`;
  logger.info({ url, interval_ms: options.intervalMs }, 'rtrack watch listening');

  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => void scanOnce().finally(schedule), options.intervalMs);
  };
  schedule();

  return {
    url,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        if (timer) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
