#!/usr/bin/env node
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { main } from '../dist/cli/main.js';

// A stream that broke — `rtrack snapshot | head` closed the pipe (EPIPE), the terminal hung up
// (EIO, an SSH session dropped) — goes quiet: later writes to it are dropped, and the work goes on
// (a task under `rtrack run` may still be running, and its report and reaping must still happen).
// The other stream is untouched.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    stream.write = () => true;
    if (err.code !== 'EPIPE' && err.code !== 'EIO') {
      const other = stream === process.stdout ? process.stderr : process.stdout;
      other.write(`rtrack: cannot write to ${stream === process.stdout ? 'stdout' : 'stderr'}: ${err.message}\n`);
    }
  });
}

// Node 20 restores each stdio terminal's modes at exit and aborts (SIGABRT, the exit status lost)
// when the terminal has hung up (nodejs/node#51519, fixed in later Node versions). A descriptor
// that was a terminal and no longer answers as one is closed first: Node skips closed descriptors.
const terminals = [0, 1, 2].filter((fd) => isatty(fd));
process.on('exit', () => {
  for (const fd of terminals) {
    if (isatty(fd)) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`rtrack: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
