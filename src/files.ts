// Files rtrack writes: atomically (a reader never sees half a file), where the user's state lives
// (XDG), so that nothing is written into the user's own settings by surprise, and where rtrack's own
// files are installed.
import { existsSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

let root: string | undefined;

/**
 * A file of rtrack's own package (`bin/rtrack.js`, `dist/cli/follower-main.cjs`, `package.json`), by
 * its path from the package's root: the nearest directory above this module that holds a
 * package.json. Not relative to the calling module: the build bundles modules into other files
 * (one per CLI entry point, the library's chunks), so a module runs from elsewhere than its source.
 */
export function packageFile(path: string): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    root = dir;
  }
  return join(root, path);
}
