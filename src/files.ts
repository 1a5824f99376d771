// Files rtrack writes: atomically (a reader never sees half a file), and where the user's state
// lives (XDG), so that nothing is written into the user's own settings by surprise.
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Writes the text atomically: to a temporary file beside the target, then renamed over it. */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, mode === undefined ? undefined : { mode });
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

/** rtrack's state directory: `$XDG_STATE_HOME/rtrack`, else `~/.local/state/rtrack`. */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.local', 'state'), 'rtrack');
}
