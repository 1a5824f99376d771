#!/usr/bin/env node
// One build's `rtrack watch` scan, for bench/watch-scan.js: a child process per build, as a watch is
// a process of its own, told over IPC when to scan; between scans it idles, as a watch does. A scan
// is what the build's watch does at each interval: its scan (this build: createWatchScanner, every
// user's figures; an older build: scanMachine with the watch's cache) and the metrics' update.
// usage (by watch-scan.js): node bench/watch-scan-worker.js <checkout> [--without-watch-flags]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

const checkout = process.argv[2];
const internal = await import(join(checkout, 'dist', 'internal.js'));
if (!process.argv.includes('--without-watch-flags')) for (const flag of internal.WATCH_V8_FLAGS) setFlagsFromString(flag);
const library = await import(join(checkout, 'dist', 'index.js'));
const { createWatchMetrics } = await import(join(checkout, 'dist', 'metrics.js'));
const metrics = createWatchMetrics({ defaultMetrics: false });
let scan;
if (internal.createWatchScanner) {
  const scanner = internal.createWatchScanner({ scope: 'system', rules: { keep: [] }, keepOpen: true, cpuSampleMs: 0 });
  scan = () => scanner.scan();
} else {
  const cache = {};
  scan = () => library.scanMachine({ cache, cpuSampleMs: 0, keepOpen: true });
}
const once = async () => metrics.update(await scan());

process.on('message', async (message) => {
  if (message === 'warm') {
    for (let i = 0; i < 3; i++) await once();
    process.send({ done: true });
  } else if (message === 'scan') {
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const c0 = process.cpuUsage();
    await once();
    const c = process.cpuUsage(c0);
    await new Promise((r) => setTimeout(r, 2));
    loop.disable();
    process.send({ ms: (c.user + c.system) / 1000, blockMs: Math.max(0, loop.max / 1e6 - 1) });
  } else if (message === 'exit') process.exit(0);
});
process.send({ ready: true });
