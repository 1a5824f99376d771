// `rtrack/metrics`: Prometheus metrics (prom-client), an entry point of its own so that importing
// `rtrack` never loads prom-client.
export { createWatchMetrics, runMetricsText, type WatchMetrics, type WatchMetricsOptions, type WatchScanReport } from './operations/prometheus.js';
export { startWatchServer, type WatchServer, type WatchServerOptions } from './operations/watch-server.js';
export { readWebConfig, type WebConfig } from './operations/web-config.js';
export type { WatchReapRecord } from './tracking/session-records.js';
export type { LeakFigures, UserFigures } from './rules/watch-scope.js';
