#!/usr/bin/env node
// node bench/watch-idle.js [--seconds 60] [--processes 1000] [--against <checkout>]   (after npm run build; Linux)
// What a real `rtrack watch` costs while it waits, and the descriptors it holds: this checkout's
// (and with --against another build's, side by side) `bin/rtrack.js watch`, started with a temporary
// HOME, over the same extra sleepers:
//   - idle: `--interval 1h`, nothing scraping it: CPU (user + system, from /proc/[pid]/stat) over
//     --seconds after a 5 s settle, in % of one core;
//   - at 5 s: `--interval 5s` (stat descriptors kept open between scans): CPU over the same time, and
//     the descriptors it holds at the end (/proc/[pid]/fd), against the processes on the machine.
// Spawns everything itself and kills every process it started, by pid, however it ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textOption } from './sleepers.js';

const SECONDS = Number(textOption('--seconds', 60));
const PROCESSES = Number(textOption('--processes', 1000));
const AGAINST = textOption('--against', undefined);
const here = fileURLToPath(new URL('..', import.meta.url));

const started = [];
const home = mkdtempSync(join(tmpdir(), 'rtrack-bench-idle-'));
function cleanup() {
  for (const child of started) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(home, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

const ticks = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const CLK_TCK = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (let i = 0; i < PROCESSES; i++) {
  started.push(spawn('sleep', ['86400'], { stdio: 'ignore' }));
  if (i % 200 === 199) await sleep(20);
}
await sleep(1000);

function watch(checkout, interval) {
  const child = spawn(process.execPath, [join(checkout, 'bin', 'rtrack.js'), 'watch', '--port', '0', '--interval', interval], {
    stdio: 'ignore',
    env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') },
  });
  started.push(child);
  return child;
}

const builds = [['this build', here], ...(AGAINST ? [['against', AGAINST]] : [])];
const onMachine = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
console.log(`rtrack watch waiting, ${SECONDS} s after a 5 s settle, ${onMachine} processes on the machine${AGAINST ? `; against: ${AGAINST}` : ''}`);
console.log('| build | idle (--interval 1h): CPU | at --interval 5s: CPU | descriptors held at 5 s |');
console.log('| --- | ---: | ---: | ---: |');
// Every watch runs at once, so that they share the machine's state.
const runs = builds.map(([name, checkout]) => ({ name, idle: watch(checkout, '1h'), busy: watch(checkout, '5s') }));
await sleep(5000);
const before = runs.map((r) => [ticks(r.idle.pid), ticks(r.busy.pid)]);
await sleep(SECONDS * 1000);
for (const [i, r] of runs.entries()) {
  const idle = ((ticks(r.idle.pid) - before[i][0]) / CLK_TCK / SECONDS) * 100;
  const busy = ((ticks(r.busy.pid) - before[i][1]) / CLK_TCK / SECONDS) * 100;
  const fds = readdirSync(`/proc/${r.busy.pid}/fd`).length;
  console.log(`| ${r.name} | ${idle.toFixed(2)} % | ${busy.toFixed(2)} % | ${fds} |`);
}
process.exit(0);
