// The watch loop and its HTTP endpoint: scan at an interval, serve /metrics and /healthz. A failed
// scan is logged and counted, and the previous values stay served.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { createWatchMetrics, type WatchMetrics } from './prometheus.js';
import { identityKey } from '../rules/identity.js';
import type { AttributedProcess } from '../types.js';
import { reapOrphans, type ReapOptions } from './reap.js';
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
  /**
   * Reap certain leaks (tagged by runs that are over, or marked by agent sessions that are over)
   * that have stayed certain for `lingerMs`; suspects are never reaped. Default: off.
   */
  reap?: {
    lingerMs: number;
    graceMs?: number;
    /** What the reaper's gate judges by (keep rules, agents): the scan's own. */
    gate?: Pick<ReapOptions, 'keep' | 'keepSharedDaemons' | 'agents' | 'state'>;
    /** The reaper (default reapOrphans); tests inject their own. */
    reaper?: typeof reapOrphans;
  };
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
  /** When each certain leak (by identity) was first seen certain. */
  const certainSince = new Map<string, number>();

  /** Reaps what has been certain for the linger time; forgets what is no longer certain. */
  const reapLingering = async (scan: ScanReport): Promise<void> => {
    const reap = options.reap!;
    const now = Date.now();
    const seen = new Set<string>();
    const due: { process: AttributedProcess; agent: string }[] = [];
    for (const group of scan.certain) {
      for (const p of group.processes) {
        const key = identityKey(p);
        seen.add(key);
        const since = certainSince.get(key) ?? now;
        certainSince.set(key, since);
        if (now - since >= reap.lingerMs) due.push({ process: p, agent: group.session?.agent ?? 'none' });
      }
    }
    for (const key of certainSince.keys()) if (!seen.has(key)) certainSince.delete(key);
    if (due.length === 0) return;
    const outcomes = await (reap.reaper ?? reapOrphans)(due.map((d) => d.process), { ...reap.gate, graceMs: reap.graceMs, by: 'watch' });
    const counts: Record<string, number> = {};
    outcomes.forEach((o, i) => {
      counts[o.result] = (counts[o.result] ?? 0) + 1;
      if (o.result === 'terminated' || o.result === 'killed') metrics.reaped(due[i]!.agent);
      certainSince.delete(identityKey(due[i]!.process));
    });
    logger.info({ count: outcomes.length, ...counts }, 'reaped certain leaks that lingered');
  };

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
      if (options.reap) await reapLingering(scan);
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
