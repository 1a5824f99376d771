// Where the files a hook runs may live: verdicts on what lstat(2) tells of each entry on the way to
// them (path-checks.ts walks the paths), and on an rtrack that runs from npx's cache. Pure.

/** A directory entry on the way to a file the hooks run, as lstat(2) tells it. */
export interface PathEntry {
  path: string;
  uid: number;
  mode: number;
  isSymbolicLink: boolean;
}

/**
 * Why someone other than the user (or root) could put their own file where the hooks look for
 * rtrack, Node or the config — the file itself, or any directory above it — in words; undefined when
 * no one can. An entry owned by another user, or writable by its group or others: a sticky
 * world-writable directory such as /tmp counts, since a name removed from it (a checkout tried out
 * there and deleted, /tmp wiped at boot) can be taken by anyone, and the hook then runs their file as
 * the user. A symbolic link's own mode means nothing; its owner does.
 */
export function sharedEntryProblem(entry: PathEntry, uid: number): string | undefined {
  if (entry.uid !== uid && entry.uid !== 0) return `${entry.path} is owned by uid ${entry.uid}`;
  if (entry.isSymbolicLink) return undefined;
  const writable = [...(entry.mode & 0o020 ? ['its group'] : []), ...(entry.mode & 0o002 ? ['others'] : [])];
  if (writable.length === 0) return undefined;
  const sticky = entry.mode & 0o1000 ? ', sticky: a name removed from it can be taken by anyone' : '';
  return `${entry.path} is writable by ${writable.join(' and ')} (mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')}${sticky})`;
}

/**
 * Why the hooks must not name this rtrack (one line), or undefined: one run by `npx rtrack` lives in
 * npx's cache (`…/_npx/<hash>/node_modules/rtrack`), which npm empties when it likes — the hooks
 * would then do nothing, silently. A global install (`npm install -g rtrack`) keeps its path across
 * updates.
 */
export function transientInstallProblem(bin: string): string | undefined {
  if (!/\/_npx\/[^/]+\/node_modules\//.test(bin)) return undefined;
  return `this rtrack runs from npx's cache (${bin}), which npm empties when it likes, and the hooks would then do nothing: install it first, \`npm install -g rtrack\`, then run \`rtrack hooks install\` again; nothing was written`;
}
