// The session follower's own entry point: `session start` spawns `node dist/cli/follower-main.cjs
// [--config file] [--interval ms]`, detached, its output nowhere. The follower lives as long as the
// agents it follows, so this module loads only what following needs: no option parser, no command
// it does not run, and no module (child_process, crypto) that a Linux follower never calls. `rtrack
// session follow` runs the same function in the foreground.
//
// A follower that cannot start says why in one line of the state directory's hooks.log (`rtrack
// hooks status` shows it): a bad config, a state directory whose filesystem has no link(2), a crash.
// It says it started in follower.log. A state directory that is not the user's alone is not written
// to at all: one line on stderr, exit 1.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../config.js';
import { appendRotated, stateDirectory, stateDirectoryDistrust } from '../files.js';
import { createLogger } from '../log.js';
import { FOLLOWER_FAILED, FOLLOWER_LOG_ROTATION, FOLLOWER_STARTED, logHookProblem } from '../operations/agent-sessions.js';
import { followSessions } from '../operations/session-follower.js';

/** Whether this follower got its lock and started following (a failure after is no failure to start). */
let started = false;

/** `rtrack session follow`: the follower (started by `session start`; exits when it follows nothing). */
export async function sessionFollow(options: { config?: string; intervalMs?: number }): Promise<number> {
  const state = stateDirectory();
  const unsafe = stateDirectoryDistrust(state);
  if (unsafe) {
    process.stderr.write(`rtrack session follow: ${unsafe}; no follower runs until it is fixed\n`);
    return 1;
  }
  try {
    const log = join(state, 'follower.log');
    const logger = createLogger({ stream: { write: (line: string) => (appendRotated(log, `${new Date().toISOString()} ${line}`, FOLLOWER_LOG_ROTATION), true) } });
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
      onStart: () => {
        started = true;
        logger.info({ pid: process.pid, reap: config.sessions.reap }, FOLLOWER_STARTED);
      },
    });
    return 0;
  } catch (err) {
    followerFailed(state, err);
    return 1;
  }
}


/** One line in hooks.log (where a hook's problems go: the follower has no output of its own) and on stderr. */
function followerFailed(state: string, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (!stateDirectoryDistrust(state)) logHookProblem(state, started ? `follower stopped on an error: ${message}` : `${FOLLOWER_FAILED}${message}`);
  process.stderr.write(`rtrack session follow: ${message}\n`);
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
  const crashed = (err: unknown): void => {
    followerFailed(stateDirectory(), err);
    process.exit(1);
  };
  process.once('uncaughtException', crashed);
  process.once('unhandledRejection', crashed);
  sessionFollow({ config: value('--config'), intervalMs: interval === undefined ? undefined : Number(interval) }).then((code) => {
    process.exitCode = code;
  }, crashed);
}
