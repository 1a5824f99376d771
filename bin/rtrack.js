#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// `rtrack snapshot | head`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`rtrack: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
