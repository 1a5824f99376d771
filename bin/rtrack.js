#!/usr/bin/env node
// CommonJS (bin/package.json), like the CLI it loads (dist/cli/*.cjs): Node starts faster without
// its ES module loader.
'use strict';
// `rtrack watch` runs for days, often as root: a SIGUSR1 would make Node open its inspector on
// 127.0.0.1:9229, where any local user could run code in it. A listener of our own, first thing,
// keeps Node's away (the watch replaces it with one that logs; src/cli/watch-command.ts).
if (process.argv[2] === 'watch') process.on('SIGUSR1', () => {});
const { closeSync, existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const argv = process.argv.slice(2);
const done = (code) => {
  process.exitCode = code;
};
const failed = (err) => {
  process.stderr.write(`rtrack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
};

/** The CLI's build is not there (removed by a rebuild, never made), as opposed to a failure inside it. */
const notBuilt = (err, ...files) =>
  (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ENOENT') && files.some((file) => !existsSync(join(__dirname, '..', 'dist', 'cli', file)));

// Two paths that must start fast load neither the option parser nor any other command: the
// version, and the hooks an agent runs inside its own start-up and end (`session start|end` with
// only the options the hooks are installed with). Anything else goes through the full CLI.
const hookOptions = /^--(agent|pid|parent|config)$/;
const pidOption = (name) => !argv.includes(name) || /^[1-9][0-9]{0,9}$/.test(argv[argv.indexOf(name) + 1]); // another is checked by the full CLI
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  prepareStreams();
  process.stdout.write(`${JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
} else if (
  argv[0] === 'session' &&
  (argv[1] === 'start' || argv[1] === 'end') &&
  argv.length % 2 === 0 &&
  argv.slice(2).every((a, i) => (i % 2 === 0 ? hookOptions.test(a) : !a.startsWith('-'))) &&
  argv.includes('--agent') &&
  pidOption('--pid') &&
  pidOption('--parent')
) {
  const option = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  // A hook must never break the agent: a checkout without its build (`npm run build` removes
  // dist/ first, a `git clean -fdx`) is rtrack gone for the moment, and a hook says nothing then.
  let command;
  try {
    command = require('../dist/cli/session-command.cjs');
  } catch (err) {
    if (!notBuilt(err, 'session-command.cjs')) throw err;
    return;
  }
  const { sessionStart, sessionEnd } = command;
  // opencode's plugin passes --pid (the opencode process it runs in); the hooks, --parent "$PPID"
  const options = { agent: option('--agent'), config: option('--config') };
  for (const name of ['pid', 'parent']) if (argv.includes(`--${name}`)) options[name] = Number(option(`--${name}`));
  (argv[1] === 'start' ? sessionStart(options) : sessionEnd(options)).then(done, failed);
} else {
  prepareStreams();
  // With the code cache `npm run build` made for it, once src/cli/code-cache.ts has found it sound:
  // about 10 ms less to start.
  let main;
  try {
    const { requireWithCodeCache } = require('../dist/cli/code-cache.cjs');
    ({ main } = requireWithCodeCache(join(__dirname, '..', 'dist', 'cli', 'main.cjs')).exports);
  } catch (err) {
    if (!notBuilt(err, 'code-cache.cjs', 'main.cjs')) throw err;
    process.stderr.write(`rtrack: ${join(__dirname, '..')} is not built; run \`npm run build\` there\n`);
    process.exitCode = 1;
  }
  main?.(argv).then(done, failed);
}

/** The full CLI's streams and terminals (the hooks' path needs neither: it writes nothing when all is well). */
function prepareStreams() {
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
  const { isatty } = require('node:tty');
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
}
