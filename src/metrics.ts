// `rtrack/metrics`: Prometheus metrics (prom-client), an entry point of its own so that importing
// `rtrack` never loads prom-client.
export { createWatchMetrics, runMetricsText, type WatchMetrics } from './operations/prometheus.js';
export { startWatchServer, type WatchServer, type WatchServerOptions } from './operations/watch-server.js';
