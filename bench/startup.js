#!/usr/bin/env node
// node bench/startup.js [--runs 20]   (after npm run build)
// Start-up of the CLI and the library against `node -e 0`, measured interleaved in the same run
// (the machines are shared and noisy: compare the ratios). HOME and XDG_STATE_HOME are a temporary
// directory, so `rtrack session start` (here given no hook input: it logs one line and exits 0)
// touches nothing of the user's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const RUNS = Math.max(5, Number(args[args.indexOf('--runs') + 1]) || 20);
const RTRACK = fileURLToPath(new URL('../bin/rtrack.js', import.meta.url));
const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-startup-'));
process.on('exit', () => rmSync(home, { recursive: true, force: true }));
const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state') };

const contenders = [
  ['node -e 0 (reference)', ['-e', '0']],
  ['rtrack --version', [RTRACK, '--version']],
  ['rtrack session start (a hook)', [RTRACK, 'session', 'start', '--agent', 'claude-code']],
  ['rtrack run --quiet -- true', [RTRACK, 'run', '--quiet', '--', 'true']],
  // the same without the task's cgroup: what placing the task in it costs (the write to
  // cgroup.procs took about 14 ms here; it now runs while the before snapshot is taken; BENCHMARKS.md)
  ['  … --cgroup off', [RTRACK, 'run', '--quiet', '--cgroup', 'off', '--', 'true']],
  ["import('rtrack')", ['--input-type=module', '-e', `await import(${JSON.stringify(INDEX)})`]],
];
const times = new Map(contenders.map(([name]) => [name, []]));
for (let r = 0; r < RUNS; r++) {
  for (const [name, argv] of contenders) {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, argv, { env, input: '', stdio: ['pipe', 'ignore', 'ignore'] });
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}`);
    times.get(name).push(performance.now() - t0);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const reference = median(times.get('node -e 0 (reference)'));
console.log(`start-up, medians of ${RUNS} interleaved runs, ${cpus()[0].model}, Node ${process.version}`);
for (const [name] of contenders) {
  const m = median(times.get(name));
  console.log(`  ${name.padEnd(32)} ${m.toFixed(0).padStart(5)} ms  ${(m / reference).toFixed(2)}×`);
}
