// What the file system says of a path rtrack would write, or have an agent run: a --settings file
// whose links lead out of its project (or nowhere), and each file the hooks run that another user
// could put in place (every entry on the way judged by path-safety.ts).
import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { HookCommand } from './hook-commands.js';
import { problemOnTheWay, resolveTarget } from './settings-file.js';

/** The directories an agent keeps a project's settings in: the directory holding one is the project. */
const PROJECT_SETTINGS_DIRECTORIES = new Set(['.claude', '.gemini', '.opencode']);

/**
 * Why rtrack must not write the file named with --settings through its links (one line), or
 * undefined. A cloned repository can ship links: `.claude/settings.json -> ../../.docker/config.json`
 * would have rtrack edit (and back up) a file of the user's outside it, a dangling one create a file
 * wherever it points. So a link must lead to a file that exists, and, for a project's settings (in
 * `.claude`, `.gemini`, `.opencode`), one inside the project (the directory that holds that
 * directory). The user's own default file is not named with --settings: its links (into a dotfiles
 * repository) are followed as always.
 */
function settingsLinkProblem(path: string): string | undefined {
  const parts = path.split('/');
  let at = parts.length - 2;
  while (at > 0 && !PROJECT_SETTINGS_DIRECTORIES.has(parts[at]!)) at--;
  const project = at > 0 ? parts.slice(0, at).join('/') || '/' : undefined;
  let current = project ?? dirname(path);
  for (const part of relative(current, path).split('/')) {
    current = join(current, part);
    let stat: Stats;
    try {
      stat = lstatSync(current);
    } catch {
      break; // not there: made in the directory that is
    }
    if (!stat.isSymbolicLink()) continue;
    try {
      statSync(current);
    } catch {
      return `${current} is a symbolic link to ${readlinkSync(current)}, which does not exist: rtrack would create a file wherever it points; nothing was written`;
    }
  }
  if (project === undefined) return undefined;
  let realProject: string;
  try {
    realProject = realpathSync(project);
  } catch {
    return undefined; // no project yet: nothing in it leads anywhere
  }
  const target = resolveTarget(path);
  if (target.startsWith(`${realProject}/`)) return undefined;
  return `${path} leads out of its project ${project} (to ${target}) through a symbolic link: a repository's link must not have rtrack change a file elsewhere; it was left unchanged`;
}

/** Refuses (usage error, exit 2) a --settings file whose links lead where rtrack must not write (settingsLinkProblem); not the default file. */
export function checkSettingsLinks(path: string, named: string | undefined, defaultPath: string): void {
  if (named === undefined || path === defaultPath) return;
  const problem = settingsLinkProblem(path);
  if (problem) throw new UsageError(`hooks: ${problem}`);
}

/**
 * Why another user could put their own file at `path` (sharedEntryProblem: the file or a directory
 * above it is theirs, or writable by others; the one nearest the file), or undefined. Both ways to it are walked: as named
 * (a link on the way counts by its owner) and as its links resolve; a part that does not exist is
 * made only where the last one that does allows, so the walk ends there. Where there are no POSIX
 * owners (Windows), undefined.
 */
export function sharedPathProblem(path: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const named = resolve(path);
  for (const way of new Set([named, resolvedPath(named)])) {
    // the problem nearest the file: the one to fix (a checkout's own directory rather than the /tmp it is in)
    const nearest = problemOnTheWay(way, uid);
    if (nearest) return nearest;
  }
  return undefined;
}

/** The path with the links of its longest existing part resolved (the rest as it is). */
function resolvedPath(path: string): string {
  for (let existing = path, rest = ''; ; rest = join(basename(existing), rest), existing = dirname(existing)) {
    try {
      return join(realpathSync(existing), rest);
    } catch {
      if (dirname(existing) === existing) return path;
    }
  }
}

/** What a hook (or the plugin) runs, by absolute path. */
export type Runs = Pick<HookCommand, 'node' | 'bin' | 'config'>;

/** Each file the hooks run that another user could put in place (sharedPathProblem): `rtrack <bin>: <why>`. */
export function sharedFiles(runs: Runs): string[] {
  const files: [string, string | undefined][] = [['rtrack', runs.bin], ['Node', runs.node], ['the config', runs.config]];
  return files.flatMap(([what, path]) => {
    const problem = path === undefined ? undefined : sharedPathProblem(path);
    return problem ? [`${what} ${path}: ${problem}`] : [];
  });
}
