// The session follower's own entry point: `session start` spawns `node dist/cli/follower-main.js
// [--config file] [--interval ms]`, so the long-lived follower never loads the CLI's option parser
// or any command it does not run (it stays close to a bare Node process in memory).
import { sessionFollow } from './session-command.js';

const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const interval = value('--interval');
sessionFollow({ config: value('--config'), intervalMs: interval === undefined ? undefined : Number(interval) }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`rtrack session follow: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
