#!/usr/bin/env node
// node bench/owner-read.js [--processes 1000] [--runs 15]   (Linux)
// What reading each process's user costs (scan shows the user of what it reports, and leaves out
// other users' groups): the owner of /proc/[pid] (one stat(2)), the Uid line of /proc/[pid]/status
// (open, read, close, parse), and fstat(2) of the `stat` file a table read opens anyway — each over
// every process, against reading every process's `stat` (what a table read costs at least).
// Medians of interleaved runs; N sleepers spawned and killed by pid.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { cleanup, median, option, spawnSleepers, time } from './sleepers.js';

const N = option('--processes', 1000);
const RUNS = Math.max(5, option('--runs', 15));
await spawnSleepers(N);
const pids = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
const buf = Buffer.allocUnsafe(4096);
const readFile = (path) => {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return -1;
  }
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } finally {
    closeSync(fd);
  }
};
const contenders = [
  ['read every stat (the floor of a table read)', () => { for (const p of pids) readFile(`/proc/${p}/stat`); }],
  ['stat(2) of /proc/[pid] (readOwner)', () => { for (const p of pids) statSync(`/proc/${p}`, { throwIfNoEntry: false })?.uid; }],
  ['the Uid line of /proc/[pid]/status', () => {
    for (const p of pids) {
      const n = readFile(`/proc/${p}/status`);
      if (n > 0) /^Uid:\s+(\d+)/m.exec(buf.latin1Slice(0, n));
    }
  }],
  ['fstat(2) of the stat file, opened and read anyway', () => {
    for (const p of pids) {
      let fd;
      try {
        fd = openSync(`/proc/${p}/stat`, 'r');
      } catch {
        continue;
      }
      try {
        readSync(fd, buf, 0, buf.length, null);
        fstatSync(fd).uid;
      } finally {
        closeSync(fd);
      }
    }
  }],
];
const samples = new Map(contenders.map(([name]) => [name, []]));
for (let r = -1; r < RUNS; r++) for (const [name, fn] of contenders) {
  const ms = await time(fn);
  if (r >= 0) samples.get(name).push(ms);
}
const floor = median(samples.get(contenders[0][0]));
console.log(`each process's user, ${pids.length} processes, medians of ${RUNS}; ${cpus()[0]?.model}, Node ${process.version}`);
console.log('| what | ms | µs a process | × reading every stat |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name] of contenders) {
  const ms = median(samples.get(name));
  console.log(`| ${name} | ${ms.toFixed(1)} | ${((ms * 1000) / pids.length).toFixed(2)} | ${(ms / floor).toFixed(2)} |`);
}
cleanup();
process.exit(0);
