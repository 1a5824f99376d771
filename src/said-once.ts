// What rtrack says once per user and machine rather than at every run: a hint that stays true
// until the user acts on it (how to give `rtrack run` a cgroup of its own), and what a hook left
// behind says when rtrack is gone (src/hooks/hook-commands.ts SAID_GONE, said by the hook's shell).
// Each is remembered as an empty directory in the state directory, `said-<what>`, made with
// mkdir(2): made by exactly one of any number of racing runs, never through a link, never over a
// file. `rtrack uninstall` removes them with the state.
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { prepareStateDirectory, stateDirectory } from './files.js';

/**
 * Whether to say it now: true the first time (its record made), false after. Where it cannot be
 * remembered (the state directory is not the user's alone, or cannot be made) it is said every time.
 */
export function firstTime(name: string, state = stateDirectory()): boolean {
  if (prepareStateDirectory(state)) return true;
  try {
    mkdirSync(join(state, name), { mode: 0o700 });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}

/** Forgets that it was said (the situation changed: say it again when it comes back). */
export function forgetSaid(name: string, state = stateDirectory()): void {
  try {
    rmdirSync(join(state, name));
  } catch {
    // never said, or not ours to remove (not an empty directory)
  }
}
