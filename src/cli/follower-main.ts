// The session follower's own entry point: `session start` spawns `node dist/cli/follower-main.cjs
// [--config file] [--interval ms]`. The follower lives as long as the agents it follows, so this
// module loads only what following needs: no option parser, no command it does not run, and no
// module (child_process, crypto) that a Linux follower never calls. `rtrack session follow` runs the
// same function in the foreground.
import { appendFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../config.js';
import { stateDirectory } from '../files.js';
import { createLogger } from '../log.js';
import { followSessions } from '../operations/session-follower.js';

/** `rtrack session follow`: the follower (started by `session start`; exits when it follows nothing). */
export async function sessionFollow(options: { config?: string; intervalMs?: number }): Promise<number> {
  const state = stateDirectory();
  const logger = createLogger({ stream: { write: (line: string) => (appendFileSync(join(state, 'follower.log'), line), true) } });
  const config = await resolveConfig(options.config, 'machine', (line) => logger.warn({}, line));
  await followSessions({
    state,
    intervalMs: options.intervalMs,
    lingerMs: config.sessions.lingerMs,
    reap: config.sessions.reap,
    keep: config.keep,
    keepSharedDaemons: config.keepSharedDaemons,
    agents: config.agents,
    logger,
  });
  return 0;
}

const isEntryPoint = (): boolean => {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
};

if (isEntryPoint()) {
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
}
