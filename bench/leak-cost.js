#!/usr/bin/env node
// node bench/leak-cost.js [--runs 15]   (after npm run build)
// What reading a leak's cost takes (PSS/USS from smaps_rollup, CPU time, listening ports): for a
// 14-process leak (a browser's size) and a 500-process one, against a full snapshot of the machine
// measured in the same run. The CPU-share sample (a 200 ms wait, not work) is left out. Every
// process it started is killed by pid, however it ends.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { measureCosts } from '../dist/internal.js';
import { takeSnapshot } from '../dist/index.js';

const args = process.argv.slice(2);
const RUNS = Math.max(5, Number(args[args.indexOf('--runs') + 1]) || 15);
const children = [];
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

for (let i = 0; i < 500; i++) children.push(spawn('sleep', ['3600'], { stdio: 'ignore' }));
await new Promise((resolve) => setTimeout(resolve, 1500));
const snapshot = await takeSnapshot();
const mine = new Set(children.map((c) => c.pid));
const leaked = snapshot.processes.filter((p) => mine.has(p.pid)).map((p) => ({ ...p, evidence: ['tag'] }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const t = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
};
const full = await time(() => takeSnapshot());
const small = await time(() => measureCosts(leaked.slice(0, 14), { sampleMs: 0 }));
const large = await time(() => measureCosts(leaked, { sampleMs: 0 }));
console.log(`leak cost reading: ${snapshot.processCount} processes on the machine, ${cpus()[0].model}, Node ${process.version}, medians of ${RUNS}`);
console.log(`  full snapshot (reference)   ${full.toFixed(1)} ms`);
console.log(`  cost of a 14-process leak   ${small.toFixed(1)} ms  (${(small / full).toFixed(2)}× a snapshot)`);
console.log(`  cost of a 500-process leak  ${large.toFixed(1)} ms  (${(large / full).toFixed(2)}× a snapshot, ${((large * 1000) / 500).toFixed(0)} µs per process)`);
process.exit(0); // the children would keep the event loop alive: `exit` kills them
