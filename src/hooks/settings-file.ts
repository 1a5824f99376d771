// Changing a file that belongs to the user — an agent's settings.json, rtrack's per-user config —
// so that nothing of theirs is lost or exposed, whatever happens meanwhile:
//
// - a symbolic link is kept: the file it points to is changed (a settings file linked from a
//   dotfiles repository stays linked);
// - the new file gets the old one's mode, and its owner and group where that is permitted (as root:
//   `sudo rtrack …` does not hand the user's file to root); a new file is 0600 in a directory made
//   0700, since settings files hold API keys;
// - the previous content is kept in a backup created exclusively (never through an existing path or
//   link) under a name no earlier backup has, with the original's mode;
// - the new content is written to a temporary file created exclusively beside the target, fsynced,
//   and renamed over it (the directory fsynced too): a reader sees the old file or the new one;
// - right before the rename the file is read again: if it changed meanwhile (the agent saved its
//   settings), the change is made again on the new content, a few times, else rtrack refuses;
// - a file that is empty (or blank) and was changed in the last 2 s is taken for one being written
//   (an agent that saves in place truncates, then writes): rtrack waits for its content, else
//   refuses; it never takes it for an empty file (and never keeps a blank backup);
// - only a regular file of at most 1 MiB is read, opened O_NONBLOCK (a FIFO never blocks);
// - a file rtrack cannot write without harm is refused (FileRefused): one whose bytes are not all
//   UTF-8 (they would come back as U+FFFD), one with several names (hard links: the rename would
//   leave the others with the old content);
// - as root, what is created (the directories made, a new file) gets the owner and group of the
//   nearest directory above it that exists: `sudo -E rtrack …` does not lock the user out of a new
//   ~/.claude;
// - a symbolic link is followed only where no one else could have put it there: the link, and every
//   directory on the way to it, is the user's (or root's) and writable by no one else (a link in a
//   group-writable ~/.claude could lead rtrack to edit any JSON file of the user's); else refused;
// - after any error the file is exactly as it was.
// Not kept: ACLs. The new file takes its directory's default ACL, if any (a limitation, in the README).
//
// Synchronous: a one-shot command that has nothing else to do meanwhile.
import { chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { sharedEntryProblem } from './path-safety.js';

/** A file rtrack will not change as it is (a person must look at it first): the message says why, in one line. */
export class FileRefused extends Error {
  override readonly name = 'FileRefused';
}

/** The file's content and identity as read, or undefined when there is no file. */
export interface FileSnapshot {
  bytes: Buffer;
  text: string;
  stat: Stats;
}

/** Where a path's content really lives: its symbolic links followed (a dangling link too: to the file it would create). */
export function resolveTarget(path: string): string {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return join(realDirectory(dirname(current)), basename(current));
    }
    if (!stat.isSymbolicLink()) return join(realDirectory(dirname(current)), basename(current));
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new Error(`${path}: too many levels of symbolic links`);
}

/**
 * Why another user could have put an entry on the way to `path` as named (sharedEntryProblem: the
 * one nearest the path), or undefined. The walk ends at the first part that does not exist.
 */
export function problemOnTheWay(path: string, uid: number): string | undefined {
  let current = '/';
  let nearest: string | undefined;
  for (const part of ['', ...resolve(path).split('/').filter((p) => p !== '')]) {
    current = join(current, part);
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch {
      break;
    }
    nearest = sharedEntryProblem({ path: current, uid: stat.uid, mode: stat.mode, isSymbolicLink: stat.isSymbolicLink() }, uid) ?? nearest;
  }
  return nearest;
}

/**
 * Why someone else could have put the entry at `path` there now: it, or a directory on the way, is
 * another user's, or a directory on the way is writable by others — unless it is sticky and what it
 * holds on the way is the user's (or root's): then no one else could have renamed or replaced it.
 */
function linkWayProblem(path: string, uid: number): string | undefined {
  let current = '/';
  let above: Stats | undefined;
  for (const part of ['', ...resolve(path).split('/').filter((p) => p !== '')]) {
    current = join(current, part);
    const stat = lstatSync(current);
    if (stat.uid !== uid && stat.uid !== 0) return `${current} is owned by uid ${stat.uid}`;
    if (above && (above.mode & 0o022) !== 0 && (above.mode & 0o1000) === 0) {
      return `${dirname(current)} is writable by ${above.mode & 0o020 ? 'its group' : 'others'} (mode ${(above.mode & 0o7777).toString(8).padStart(4, '0')})`;
    }
    above = stat;
  }
  return undefined;
}

/**
 * Why rtrack must not follow the symbolic links on the way to `path` (one line), or undefined: a
 * link someone else could have put there (problemOnTheWay of the link). No link, no problem: the
 * file itself is replaced by rename in its directory, never written through.
 */
export function plantedLinkProblem(path: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // no POSIX owners (Windows)
  let way = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    const parts = way.split('/').filter((p) => p !== '');
    let current = '/';
    let link: { at: string; rest: string[] } | undefined;
    for (let i = 0; i < parts.length; i++) {
      current = join(current, parts[i]!);
      let stat: Stats;
      try {
        stat = lstatSync(current);
      } catch {
        break;
      }
      if (stat.isSymbolicLink()) {
        link = { at: current, rest: parts.slice(i + 1) };
        break;
      }
    }
    if (!link) return undefined;
    const problem = linkWayProblem(link.at, uid);
    if (problem) return `${path} is reached through the symbolic link ${link.at}, which someone else could have put there (${problem}); it was left unchanged`;
    way = join(resolve(dirname(link.at), readlinkSync(link.at)), ...link.rest);
  }
  return `${path}: too many levels of symbolic links`;
}

/** A directory's real path; one that does not exist yet (it will be made) as it is. */
function realDirectory(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** The most rtrack reads of a settings file or config: a larger one is not read (nor written). */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Reads at most MAX_FILE_BYTES of an open regular file; undefined when it holds more. Never blocks
 * and never runs away: the caller opened it O_NONBLOCK (a FIFO planted where a settings file should
 * be), and checked with fstat that it is a regular file (not `/dev/zero`, which never ends).
 */
function readBounded(fd: number): Buffer | undefined {
  const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
  let length = 0;
  while (length < buffer.length) {
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
  }
  return length > MAX_FILE_BYTES ? undefined : buffer.subarray(0, length);
}

/**
 * A file that is only looked at (`hooks status`, `rtrack sessions`: a repository's settings files,
 * the configs their hooks name), its links followed: its text; what keeps it from being read
 * (`not a regular file`, `larger than 1 MiB`) as a problem; undefined when there is no file.
 */
export function readSmallFile(path: string): { text: string } | { problem: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return { problem: `cannot be read (${code ?? (err as Error).message})` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: 'not a regular file: not read' };
    const bytes = stat.size > MAX_FILE_BYTES ? undefined : readBounded(fd);
    return bytes ? { text: bytes.toString('utf8') } : { problem: 'larger than 1 MiB: not read' };
  } catch (err) {
    return { problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

/** Reads the resolved target without following a link put there since it was resolved (nor blocking on a FIFO). */
export function readSnapshot(target: string): FileSnapshot | undefined {
  let fd: number;
  try {
    fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new Error(`${target} became a symbolic link while rtrack was reading it; it was left unchanged`);
    throw new Error(`cannot read ${target}: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileRefused(`${target} is not a regular file; it was left unchanged`);
    const bytes = stat.size > MAX_FILE_BYTES ? undefined : readBounded(fd);
    if (!bytes) throw new FileRefused(`${target} is larger than 1 MiB, more than a settings file holds; it was left unchanged`);
    return { bytes, text: bytes.toString('utf8'), stat };
  } finally {
    closeSync(fd);
  }
}

const sameFile = (a: FileSnapshot | undefined, b: FileSnapshot | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.stat.ino === b.stat.ino && a.stat.dev === b.stat.dev && a.stat.mode === b.stat.mode && a.stat.uid === b.stat.uid && a.stat.gid === b.stat.gid && a.bytes.equals(b.bytes);

/** How recently a blank file must have changed to be taken for one being written (truncated, its content to come). */
const WRITING_MS = 2000;
/** How long rtrack waits, at most, for such a file's content, and how often it looks. */
const WRITING_WAIT_MS = 2500;
const WRITING_POLL_MS = 100;

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const blank = (snapshot: FileSnapshot | undefined): boolean => snapshot !== undefined && snapshot.text.trim() === '';

/**
 * The file as read, once it is not being written: a blank file changed in the last WRITING_MS is
 * one an agent truncated and is about to write (Claude Code saves its settings in place): taking it
 * for `{}` would write rtrack's hooks alone over the agent's settings. Read again until it has
 * content or has stayed blank that long; still blank and changing after WRITING_WAIT_MS: refused.
 */
function readSettled(target: string): FileSnapshot | undefined {
  const deadline = Date.now() + WRITING_WAIT_MS;
  for (;;) {
    const snapshot = readSnapshot(target);
    if (!blank(snapshot) || Date.now() - snapshot!.stat.mtimeMs >= WRITING_MS) return snapshot;
    if (Date.now() >= deadline) {
      throw new Error(`${target} is empty and was changed ${Math.max(0, Math.round(Date.now() - snapshot!.stat.mtimeMs))} ms ago: something (the agent?) is writing it; it was left unchanged, try again`);
    }
    sleepSync(WRITING_POLL_MS);
  }
}

const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Creates `path` exclusively (O_CREAT|O_EXCL|O_NOFOLLOW: an existing file or link, even a dangling
 * one, is an EEXIST, never followed) with the bytes, the mode and, where permitted, the owner, and
 * fsyncs it.
 */
function createExclusive(path: string, bytes: Buffer, mode: number, owner: Owner | undefined): void {
  const fd = openSync(path, CREATE_EXCLUSIVE, 0o600);
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fchmodSync(fd, mode); // the umask does not narrow it
    if (owner) {
      if (isRoot()) fchownSync(fd, owner.uid, owner.gid);
      else if (owner.gid !== fstatSync(fd).gid) {
        try {
          fchownSync(fd, owner.uid, owner.gid); // a group of the user's own: permitted
        } catch {
          // not one of the user's groups: the file takes the user's
        }
      }
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(path);
    throw err;
  }
  closeSync(fd);
}

/** Why rtrack must not write the file anew (one line), or undefined: bytes that are not UTF-8, hard links. */
function refusal(target: string, file: FileSnapshot): string | undefined {
  const again = Buffer.from(file.text, 'utf8');
  if (!again.equals(file.bytes)) {
    let at = 0;
    while (at < file.bytes.length && file.bytes[at] === again[at]) at++;
    return `${target} holds bytes that are not UTF-8 (the first at byte ${at}): rtrack would turn them into U+FFFD; it was left unchanged`;
  }
  if (file.stat.nlink > 1) {
    return `${target} has ${file.stat.nlink} names (hard links): writing it anew would leave the others with the old content; it was left unchanged (make the other names symbolic links to it, which rtrack follows)`;
  }
  return undefined;
}

/** Throws what rtrack will not write anew as it is: a file of another user's (not as root), or a refusal(). */
function refuseAsItIs(target: string, file: FileSnapshot): void {
  if (!isRoot() && file.stat.uid !== process.getuid?.()) {
    throw new Error(`${target} belongs to uid ${file.stat.uid}: rtrack would make it yours; run it as that user; it was left unchanged`);
  }
  const refused = refusal(target, file);
  if (refused) throw new FileRefused(refused);
}

/**
 * Throws what replaceFileText would refuse of the file at `path` as it is now, writing nothing: so
 * that a command changing two files (the settings, then the per-user config) refuses before the
 * first is written.
 */
export function checkReplaceable(path: string): void {
  const planted = plantedLinkProblem(path);
  if (planted) throw new FileRefused(planted);
  const target = resolveTarget(path);
  const file = readSnapshot(target);
  if (file) refuseAsItIs(target, file);
}

type Owner = { uid: number; gid: number };

/**
 * Makes the directory and those missing above it, 0700. As root, each one made gets the owner and
 * group of the nearest directory above it that exists, and the owner returned is the directory's
 * (a new file in it takes it): run as root with the user's HOME, rtrack leaves nothing of root's
 * in the user's home. Not as root: the user's own, undefined.
 */
function makeDirectory(dir: string): Owner | undefined {
  if (!isRoot()) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return undefined;
  }
  const missing: string[] = [];
  let existing = dir;
  let parent: Stats;
  for (;;) {
    try {
      parent = statSync(existing);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(existing) === existing) throw err;
    }
    missing.unshift(existing);
    existing = dirname(existing);
  }
  for (const made of missing) {
    try {
      mkdirSync(made, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile: not rtrack's to give away
      throw err;
    }
    chownSync(made, parent.uid, parent.gid);
  }
  const stat = statSync(dir);
  return { uid: stat.uid, gid: stat.gid };
}

/** `<target>.rtrack-backup-<UTC time>`, `-2`, `-3`…: the first name nothing has, created exclusively. */
function createBackup(target: string, original: FileSnapshot, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  for (let n = 1; n <= 100; n++) {
    const path = `${target}.rtrack-backup-${stamp}${n > 1 ? `-${n}` : ''}`;
    try {
      createExclusive(path, original.bytes, original.stat.mode & 0o7777, original.stat);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`cannot create a backup of ${target}: 100 backups of this second exist`);
}

/** So that the rename survives a crash; best effort (some file systems cannot fsync a directory), the file is in place already. */
function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the change is made; only its durability across a crash is less certain
  }
}

const removeQuietly = (path: string | undefined): void => {
  if (path === undefined) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
};

let temporaries = 0;

export interface ReplaceOptions {
  /** Keep the previous content in a backup (default true). */
  backup?: boolean;
  /** How many times the change is made again when the file changed meanwhile (default 5). */
  attempts?: number;
  /** Runs right before the file is read again to be compared (tests make the file change here). */
  beforeRecheck?: () => void;
}

export interface ReplaceResult {
  /** The file that was (or would have been) changed: the path with its links followed. */
  target: string;
  changed: boolean;
  /** The backup of the previous content, when there was one. */
  backup?: string;
  /** The content as it is now. */
  text?: string;
}

/**
 * Changes the file at `path` (its links followed) to `edit(current text)`; `edit` gets undefined
 * when there is no file yet, and returns undefined (or the same text) for no change. It may throw
 * (the content is not what it must be): then nothing is written.
 */
export function replaceFileText(path: string, edit: (text: string | undefined) => string | undefined, options: ReplaceOptions = {}): ReplaceResult {
  const planted = plantedLinkProblem(path);
  if (planted) throw new FileRefused(planted);
  const target = resolveTarget(path);
  const dir = dirname(target);
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = readSettled(target);
    if (before) refuseAsItIs(target, before);
    const next = edit(before?.text);
    if (next === undefined || next === before?.text) return { target, changed: false, ...(before ? { text: before.text } : {}) };

    const owner = before ? before.stat : makeDirectory(dir);
    const temporary = join(dir, `.${basename(target)}.rtrack-${process.pid}-${(temporaries++).toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
    let backup: string | undefined;
    let committed = false;
    try {
      createExclusive(temporary, Buffer.from(next, 'utf8'), before ? before.stat.mode & 0o7777 : 0o600, owner);
      if (before && !blank(before) && options.backup !== false) backup = createBackup(target, before, new Date()); // a blank file: nothing to keep
      options.beforeRecheck?.();
      if (!sameFile(before, readSnapshot(target))) continue; // changed meanwhile: again, on the new content
      if (before) renameSync(temporary, target);
      else {
        try {
          linkSync(temporary, target); // not rename: it would replace a file made meanwhile
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') continue;
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
          renameSync(temporary, target); // a file system without hard links
        }
        committed = true;
        removeQuietly(temporary); // when linked: the target keeps the content
      }
      committed = true;
      fsyncDirectory(dir);
      return { target, changed: true, text: next, ...(backup ? { backup } : {}) };
    } finally {
      if (!committed) {
        removeQuietly(temporary);
        removeQuietly(backup);
      }
    }
  }
  throw new Error(`${target} kept changing while rtrack was changing it (${attempts} tries); it was left unchanged`);
}
