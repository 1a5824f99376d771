// Files rtrack writes: atomically (a reader never sees half a file), and where the user's state
// lives (XDG), so that nothing is written into the user's own settings by surprise.
import { rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

let temporaries = 0;

/** Writes the text atomically: to a temporary file beside the target, then renamed over it. */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  // Unique without node:crypto (loading it costs a long-lived process 1.5 MB): pid, a counter and a
  // random part (pids repeat across PID namespaces); `wx` refuses to write into anyone else's file.
  const temporary = `${path}.${process.pid}.${(temporaries++).toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  await writeFile(temporary, text, { flag: 'wx', ...(mode === undefined ? {} : { mode }) }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') await unlink(temporary).catch(() => undefined); // a half-written file of ours
    throw err;
  });
  try {
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
