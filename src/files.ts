// Files rtrack writes: atomically (a reader never sees half a file), where the user's state lives
// (XDG), so that nothing is written into the user's own settings by surprise, and where rtrack's own
// files are installed.
import { accessSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateDirectoryProblem } from './rules/follower-state.js';

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

/**
 * A user's rtrack state directory, as a look reads it: `path`, and the user whose alone it must be
 * (`uid`; default this process's user). A system-wide watch reads every user's.
 */
export interface UserState {
  path: string;
  uid?: number;
}

/**
 * Why the state directory cannot be trusted (one line), or undefined when it can: it, and the
 * directory it is in (`$XDG_STATE_HOME`, else ~/.local/state), must be the user's alone — owned by
 * the user (or root) and writable by neither group nor others, as ssh wants ~/.ssh. A directory that
 * does not exist yet is nothing to distrust. Where there are no POSIX owners (Windows), undefined.
 * `uid`: the user it must belong to (default: this process's).
 */
export function stateDirectoryDistrust(state: string, uid: number | undefined = process.getuid?.()): string | undefined {
  if (uid === undefined) return undefined;
  for (const path of [dirname(state), state]) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // not there (yet)
    }
    const problem = stateDirectoryProblem({ path, isDirectory: stat.isDirectory(), uid: stat.uid, mode: stat.mode }, uid);
    if (problem) return `the state directory ${state} is not ${uid === process.getuid?.() ? 'yours' : `uid ${uid}'s`} alone: ${problem}`;
  }
  return undefined;
}

/**
 * Makes the state directory when it is missing (0700, as is any directory made above it) and
 * checks it (stateDirectoryDistrust): why it cannot be used, in one line, or undefined.
 */
export function prepareStateDirectory(state: string): string | undefined {
  const before = stateDirectoryDistrust(state); // nothing is made inside a directory that is not the user's
  if (before) return before;
  try {
    mkdirSync(state, { recursive: true, mode: 0o700 });
  } catch (err) {
    return `cannot make the state directory ${state}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const after = stateDirectoryDistrust(state);
  if (after) return after;
  // Root's, in a directory of the user's (a `sudo` once made it): trusted, but nothing can be written.
  try {
    accessSync(state, constants.W_OK | constants.X_OK);
  } catch {
    return `the state directory ${state} is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
  }
  return undefined;
}

/** How large a file of the state grows before it is rotated, and how many older files are kept. */
export interface Rotation {
  maxBytes: number;
  /** Older files kept: `journal.1.jsonl` (the newest of them) … `journal.<n>.jsonl`. */
  keep: number;
}

/** The name of an older generation of a rotated file: `journal.jsonl`, 2 → `journal.2.jsonl`; 0 is the file itself. */
export function generationPath(path: string, n: number): string {
  if (n === 0) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.${n}${path.slice(dot)}` : `${path}.${n}`;
}

/** A rotated file's generations, oldest first (the file itself last). */
export function generationPaths(path: string, rotation: Rotation): string[] {
  return Array.from({ length: rotation.keep + 1 }, (_, i) => generationPath(path, rotation.keep - i));
}

/**
 * A rotated file's generations read whole, oldest first: the texts of those that exist. A rotation
 * while they are read would give the older file twice and lose the one renamed under the reader
 * (`journal.jsonl` → `journal.1.jsonl` after `journal.1.jsonl` was read): each generation's inode is
 * looked at before and after, and the read is made again when one changed (a rotation takes 1 MiB
 * of appends, so a second try is the most it takes; after five the last read is used).
 */
export function readGenerations(path: string, rotation: Rotation): string[] {
  const paths = generationPaths(path, rotation);
  // Most generations are not there: asked without an exception (a thrown one costs tens of µs, and
  // a system-wide watch reads every user's journal at each scan).
  const inodes = (): string[] =>
    paths.map((p) => {
      try {
        const st = statSync(p, { throwIfNoEntry: false });
        return st ? `${st.dev}:${st.ino}` : '-';
      } catch {
        return '-';
      }
    });
  let texts: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = inodes();
    texts = [];
    paths.forEach((p, i) => {
      if (before[i] === '-') return; // made since, it changes the inodes: read again
      try {
        texts.push(readFileSync(p, 'utf8'));
      } catch {
        // not there
      }
    });
    if (inodes().join(' ') === before.join(' ')) break;
  }
  return texts;
}

/**
 * Appends text to a file of the state with one write(2) on O_APPEND (lines of several writers never
 * interleave), created 0600. When the text would take the file past `maxBytes`, it is rotated first
 * (`x.1` → `x.2` …, the oldest dropped; `x` → `x.1`): a file never grows past its bound by more than
 * one append, nor the state by more than `keep` older files. Two writers rotating at once can drop
 * one generation early, never a line being written: an append goes to whichever file it opened.
 */
export function appendRotated(path: string, text: string, rotation: Rotation): void {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    // not there yet
  }
  if (size > 0 && size + Buffer.byteLength(text) > rotation.maxBytes) {
    for (let n = rotation.keep; n >= 1; n--) {
      try {
        renameSync(generationPath(path, n - 1), generationPath(path, n));
      } catch {
        // that generation is not there (yet), or another writer moved it first
      }
    }
  }
  if (size > 0 && rotation.keep === 0 && size + Buffer.byteLength(text) > rotation.maxBytes) removeQuietly(path); // no older file kept: start afresh
  appendLine(path, text);
}

/**
 * Appends lines to a file (created 0600) with one write(2) on O_APPEND. A file whose last line was
 * cut short (a crash, a full disk) gets a line end first, so that the cut line stays one corrupt
 * line and the new one whole (two writers doing so at once leave an empty line, which readers skip).
 */
export function appendLine(path: string, text: string): void {
  // Appends, and reads where it is told (the last byte); never through a link in the last part of
  // the path, and only into a file that is rtrack's own: a regular file of this user with one name.
  // (A user who can flip a directory on the way — their ~/.local/state under `sudo -E` — could
  // otherwise put a link or a hard link there to a file of root's: root's rtrack would append to it.)
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link: nothing was written to it`);
    throw err;
  }
  try {
    const problem = notOwnFile(fstatSync(fd));
    if (problem) throw new Error(`${path} ${problem}: nothing was written to it`);
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const lead = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a ? '\n' : '';
    writeSync(fd, `${lead}${text}`);
  } finally {
    closeSync(fd);
  }
}

/** Why an opened file is not one rtrack may append to (one phrase), or undefined: a regular file of this user's with one name. */
function notOwnFile(stat: { isFile(): boolean; uid: number; nlink: number }): string | undefined {
  if (!stat.isFile()) return 'is not a regular file';
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `belongs to uid ${stat.uid}`;
  if (stat.nlink > 1) return `has ${stat.nlink} names (hard links)`;
  return undefined;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
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
