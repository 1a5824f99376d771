// The watch loop and its HTTP endpoint: scan at an interval, serve /metrics and /healthz. A failed
// scan is logged and counted, and the previous values stay served; /healthz fails (503) once the
// last good scan is older than three intervals, so that silence is never taken for health.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { createWatchMetrics, type WatchMetrics, type WatchScanReport } from './prometheus.js';
import { identityKey } from '../rules/identity.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
import type { AttributedProcess } from '../types.js';
import { reapOrphans, type ReapOptions, type ReapOutcome } from './reap.js';
import type { WatchReapRecord } from '../tracking/session-records.js';
import type { Admission, WebConfig } from './web-config.js';

/** Options of `startWatchServer()`. */
export interface WatchServerOptions {
  host?: string;
  port?: number;
  intervalMs: number;
  /** One machine scan (scanMachine with the user's options, or rtrack watch's scan with each user's figures). */
  scan: () => Promise<WatchScanReport>;
  logger: Logger;
  metrics?: WatchMetrics;
  /** TLS and basic authentication (web-config.ts, readWebConfig): the exporter toolkit's file. */
  web?: WebConfig;
  /**
   * Reap certain leaks (tagged by runs that are over, or marked by agent sessions that are over)
   * that have stayed certain for `lingerMs`; suspects are never reaped. Default: off.
   */
  reap?: {
    lingerMs: number;
    graceMs?: number;
    /** What the reaper's gate judges by (keep rules, agents, the state directories it reads, each user's own config): the scan's own. */
    gate?: Pick<ReapOptions, 'keep' | 'keepSharedDaemons' | 'agents' | 'state' | 'states' | 'userFiles'>;
    /** The reaper (default reapOrphans); tests inject their own. */
    reaper?: typeof reapOrphans;
    /** Writes what one round reaped, a record per process (the journal of the watch's state directory); a throw is logged, never fatal. */
    journal?: (records: WatchReapRecord[]) => void;
    /** This boot's id, for the records. */
    bootId?: string;
  };
}

/** A running `rtrack watch` server. */
export interface WatchServer {
  /** Where the metrics are served, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
  metrics: WatchMetrics;
  /** Takes another web config (SIGHUP): new certificates, users and headers; TLS cannot be turned on or off without a restart. */
  setWebConfig(web: WebConfig | undefined): Promise<void>;
  /** Stops scanning, lets the scan in flight (and its reaping) finish, and closes the server. */
  close(): Promise<void>;
}

const leakCount = (groups: readonly { processes: readonly unknown[] }[]): number => groups.reduce((s, g) => s + g.processes.length, 0);

/** How many intervals without a good scan make /healthz fail. */
export const STALE_INTERVALS = 3;

interface Due {
  process: AttributedProcess;
  group: LeakGroup;
  user?: string;
}

/** Scans at once, then every `intervalMs`, and serves `GET /metrics` and `GET /healthz` until closed. */
export async function startWatchServer(options: WatchServerOptions): Promise<WatchServer> {
  const watch: WatchLoop = {
    options,
    logger: options.logger,
    metrics: options.metrics ?? createWatchMetrics({ intervalMs: options.intervalMs }),
    lastSummary: '',
    closed: false,
    startedAt: Date.now(),
    lastGoodScan: undefined,
    warnings: [],
    certainSince: new Map(),
    heldBack: new Set(),
    inFlight: undefined,
    web: options.web,
    admit: undefined,
    timer: undefined,
  };
  watch.admit = watch.web ? (await import('./web-config.js')).admission(watch.web) : undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => admitted(watch, req, res);
  // node:https (and with it tls and crypto) is loaded only for a TLS endpoint.
  const server: Server = watch.web?.tls ? (createRequire(import.meta.url)('node:https') as typeof import('node:https')).createServer(watch.web.tls.options, handler) : createServer(handler);

  await runScan(watch);
  const url = await listen(watch, server);
  schedule(watch);

  return {
    url,
    metrics: watch.metrics,
    async setWebConfig(next) {
      if (Boolean(next?.tls) !== Boolean(watch.web?.tls)) throw new Error(`turning TLS ${next?.tls ? 'on' : 'off'} takes a restart of rtrack watch`);
      if (next?.tls) (server as import('node:https').Server).setSecureContext(next.tls.options);
      watch.admit = next ? (await import('./web-config.js')).admission(next) : undefined;
      watch.web = next;
    },
    async close() {
      watch.closed = true;
      if (watch.timer) clearTimeout(watch.timer);
      await watch.inFlight; // the scan in flight, and what it reaps, finish first
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A running watch: its options, what its last scans found, and its endpoint's web config. */
interface WatchLoop {
  readonly options: WatchServerOptions;
  readonly logger: Logger;
  readonly metrics: WatchMetrics;
  lastSummary: string;
  closed: boolean;
  readonly startedAt: number;
  lastGoodScan: number | undefined;
  warnings: readonly string[];
  /** When each certain leak (by identity) was first seen certain. */
  readonly certainSince: Map<string, number>;
  /** Certain leaks the watch may not reap (their user's state cannot be read), said once each. */
  readonly heldBack: Set<string>;
  inFlight: Promise<void> | undefined;
  web: WebConfig | undefined;
  admit: Admission | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Listens where the options say; the URL its metrics are served at (said in a log line). */
async function listen(watch: WatchLoop, server: Server): Promise<string> {
  const { options, web } = watch;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${web?.tls ? 'https' : 'http'}://${host}:${address.port}/metrics`;
  watch.logger.info({ url, interval_ms: options.intervalMs, ...(web ? { web_config: web.path, tls: web.tls !== undefined, basic_auth: web.users !== undefined } : {}) }, 'rtrack watch listening');
  return url;
}

/** The next scan, an interval after the last one finished (none once closed). */
function schedule(watch: WatchLoop): void {
  if (watch.closed) return;
  watch.timer = setTimeout(() => void runScan(watch).finally(() => schedule(watch)), watch.options.intervalMs);
}

function runScan(watch: WatchLoop): Promise<void> {
  return (watch.inFlight = scanOnce(watch).finally(() => (watch.inFlight = undefined)));
}

async function scanOnce(watch: WatchLoop): Promise<void> {
  const { options, logger, metrics } = watch;
  const done = metrics.startScanTimer();
  try {
    const scan = await options.scan();
    metrics.update(scan);
    watch.lastGoodScan = Date.now();
    watch.warnings = scan.warnings;
    const fields = {
      certain_processes: leakCount(scan.certain),
      suspected_processes: leakCount(scan.suspected),
      kept_processes: scan.kept.length,
    };
    const summary = JSON.stringify(fields);
    if (summary !== watch.lastSummary) logger.info({ ...fields, processes: scan.processCount }, 'scan finished'); // only when it changes
    watch.lastSummary = summary;
    if (options.reap) await reapLingering(watch, scan);
  } catch (err) {
    metrics.scanFailed();
    logger.error({ error: (err as Error).message }, 'scan failed; serving the previous values');
  } finally {
    done();
  }
}

/** Reaps what has been certain for the linger time; forgets what is no longer certain. Every process handed to the reaper gets a line, a record and a count. */
async function reapLingering(watch: WatchLoop, scan: WatchScanReport): Promise<void> {
  const { options, logger, metrics, certainSince } = watch;
  const reap = options.reap!;
  const due = lingeringLeaks(watch, scan);
  if (due.length === 0) return;
  const outcomes = await (reap.reaper ?? reapOrphans)(due.map((d) => d.process), { ...reap.gate, graceMs: reap.graceMs, by: 'watch' });
  const counts: Record<string, number> = {};
  const at = new Date().toISOString();
  const records: WatchReapRecord[] = [];
  outcomes.forEach((o, i) => {
    const d = due[i]!;
    counts[o.result] = (counts[o.result] ?? 0) + 1;
    metrics.reaped(o.result);
    certainSince.delete(identityKey(d.process));
    const record = reapRecord(o, d, at, reap.bootId);
    records.push(record);
    logReap(logger, record);
  });
  logger.info({ count: outcomes.length, ...counts }, 'reaped certain leaks that lingered');
  journal(watch, records);
}

/** The certain leaks that have stayed certain for the linger time and may be reaped; forgets what is no longer certain, says once what may not be reaped. */
function lingeringLeaks(watch: WatchLoop, scan: WatchScanReport): Due[] {
  const { logger, certainSince, heldBack } = watch;
  const reap = watch.options.reap!;
  const now = Date.now();
  const seen = new Set<string>();
  const due: Due[] = [];
  for (const group of scan.certain) {
    for (const p of group.processes) {
      const key = identityKey(p);
      seen.add(key);
      const since = certainSince.get(key) ?? now;
      certainSince.set(key, since);
      if (now - since < reap.lingerMs) continue;
      const user = scan.userOf?.(p.pid);
      const withheld = scan.notReapable?.(p.pid);
      if (withheld) {
        if (!heldBack.has(key)) logger.warn({ pid: p.pid, command: p.command, user, reason: withheld }, 'a certain leak is not reaped');
        heldBack.add(key);
        continue;
      }
      due.push({ process: p, group, user });
    }
  }
  for (const key of certainSince.keys()) if (!seen.has(key)) certainSince.delete(key);
  for (const key of heldBack) if (!seen.has(key)) heldBack.delete(key);
  return due;
}

function journal(watch: WatchLoop, records: WatchReapRecord[]): void {
  try {
    watch.options.reap?.journal?.(records);
  } catch (err) {
    watch.logger.error({ error: (err as Error).message, count: records.length }, 'could not journal what was reaped (each process is logged above)');
  }
}

/** A request, answered once the web config's users admit it (401, 403 otherwise). */
function admitted(watch: WatchLoop, req: IncomingMessage, res: ServerResponse): void {
  const { admit } = watch;
  if (!admit) return respond(watch, req, res);
  admit(req).then(
    (refused) => {
      if (refused === undefined) return respond(watch, req, res);
      res.writeHead(refused, { 'Content-Type': 'text/plain', ...(refused === 401 ? { 'WWW-Authenticate': 'Basic' } : {}) }).end(refused === 401 ? 'Unauthorized\n' : 'Forbidden\n');
    },
    (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
  );
}

function respond(watch: WatchLoop, req: IncomingMessage, res: ServerResponse): void {
  const { metrics } = watch;
  const path = (req.url ?? '/').split('?')[0];
  for (const [name, value] of Object.entries(watch.web?.headers ?? {})) res.setHeader(name, value);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
  } else if (path === '/metrics') {
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`),
    );
  } else if (path === '/healthz') {
    const { status, text } = health(watch);
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end(text);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  }
}

/** ok, with what the watch cannot see; 503 when the last good scan is older than STALE_INTERVALS intervals. */
function health(watch: WatchLoop): { status: number; text: string } {
  const { options, lastGoodScan, startedAt, warnings } = watch;
  const since = lastGoodScan ?? startedAt;
  const ageMs = Date.now() - since;
  const notes = warnings.map((w) => `warning: ${w}\n`).join('');
  if (ageMs > STALE_INTERVALS * options.intervalMs) {
    const last = lastGoodScan === undefined ? 'no scan has succeeded yet' : `the last good scan finished ${(ageMs / 1000).toFixed(1)} s ago`;
    return { status: 503, text: `stale: ${last} (scans every ${options.intervalMs / 1000} s)\n${notes}` };
  }
  return { status: 200, text: `ok\n${notes}` };
}

/** The record of one process handed to the reaper. */
function reapRecord(o: ReapOutcome, d: Due, at: string, bootId: string | undefined): WatchReapRecord {
  const { process: p, group } = d;
  return {
    kind: 'watch-reap',
    at,
    ...(bootId ? { bootId } : {}),
    ...(d.user !== undefined ? { user: d.user } : {}),
    pid: o.pid,
    identity: identityKey(p),
    command: p.commandLine ?? o.command,
    evidence: [...p.evidence],
    ...(group.session ? { session: { agent: group.session.agent, sessionId: group.session.sessionId } } : {}),
    ...(group.tag ? { tag: group.tag } : {}),
    result: o.result,
    signals: o.signals,
    ...(o.reason ? { reason: o.reason } : {}),
  };
}

/** One line per process: removed (terminated, killed, gone) at INFO, anything else at WARN. */
function logReap(logger: Logger, r: WatchReapRecord): void {
  const fields = {
    pid: r.pid,
    command: r.command,
    ...(r.user !== undefined ? { user: r.user } : {}),
    evidence: r.evidence.join(','),
    ...(r.session ? { session: `${r.session.agent}/${r.session.sessionId}` } : {}),
    ...(r.tag ? { tag: r.tag } : {}),
    result: r.result,
    signals: r.signals.join(','),
    ...(r.reason ? { reason: r.reason } : {}),
  };
  if (r.result === 'terminated' || r.result === 'killed' || r.result === 'gone') logger.info(fields, 'reaped a certain leak');
  else logger.warn(fields, 'did not reap a certain leak');
}
