// `rtrack uninstall`: everything rtrack wrote for this user, removed after saying what it is — the
// hooks of every agent (opencode: its plugin), the per-user config, the state directory (session
// records, journal, logs, what was said once) and the backups rtrack made of the files it changed.
// Not rtrack itself (`npm uninstall -g rtrack` does that), and not a project's settings (a
// repository's, perhaps shared: named, with the command that removes their hooks). The agents'
// settings are changed as `hooks uninstall` changes them (their text edited, links followed,
// byte for byte as they were on error), without a new backup.
import { lstatSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { userConfigPath } from '../config.js';
import { stateDirectory } from '../files.js';
import { runningFollower } from '../operations/agent-sessions.js';
import { sessionsDir } from '../tracking/session-records.js';
import { resolveTarget } from '../settings-file.js';
import { hookFiles, hooksUninstall } from './hooks-command.js';

export interface UninstallOptions {
  dryRun?: boolean;
  yes?: boolean;
}

/** rtrack's backups of a file: `<file>.rtrack-backup-<UTC time>[-n]` beside it (and beside the file its links lead to). */
export function backupsOf(file: string): string[] {
  const found = new Set<string>();
  for (const path of new Set([file, resolveTarget(file)])) {
    const pattern = new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.rtrack-backup-\\d{8}T\\d{6}Z(-\\d{1,3})?$`);
    let names: string[];
    try {
      names = readdirSync(dirname(path));
    } catch {
      continue;
    }
    for (const name of names) if (pattern.test(name)) found.add(join(dirname(path), name));
  }
  return [...found].sort();
}

const exists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** What `rtrack uninstall` removes, and what it leaves (a project's files), in words. */
interface Plan {
  /** The agents whose hooks (opencode: whose plugin) are in the user's own files. */
  hooks: { agent: string; path: string }[];
  /** The user's hook files rtrack cannot read (not valid JSON…): their hooks stay, with why. */
  unreadable: { path: string; why: string }[];
  /** A project's files that hold rtrack's hooks: left, with the command that removes them. */
  projects: { agent: string; path: string }[];
  config?: string;
  backups: string[];
  state?: string;
}

function plan(): Plan {
  const files = hookFiles();
  const settings = files.filter((f) => !f.project).map((f) => f.path);
  const plan: Plan = {
    hooks: files.filter((f) => !f.project && typeof f.hooks === 'number' && f.hooks > 0).map(({ agent, path }) => ({ agent, path })),
    unreadable: files.filter((f) => !f.project && typeof f.hooks === 'string').map((f) => ({ path: f.path, why: f.hooks as string })),
    projects: files.filter((f) => f.project && typeof f.hooks === 'number' && f.hooks > 0).map(({ agent, path }) => ({ agent, path })),
    backups: [...settings, userConfigPath()].flatMap(backupsOf),
  };
  if (exists(userConfigPath())) plan.config = userConfigPath();
  if (exists(stateDirectory())) plan.state = stateDirectory();
  return plan;
}

function planLines(p: Plan): string[] {
  const lines: string[] = [];
  for (const h of p.hooks) lines.push(h.agent === 'opencode' ? `  rtrack's opencode plugin ${h.path}` : `  the ${h.agent} hooks in ${h.path}`);
  if (p.config) lines.push(`  the per-user config ${p.config}`);
  if (p.state) lines.push(`  the state directory ${p.state} (session records, the journal, logs)`);
  for (const b of p.backups) lines.push(`  ${b} (a backup rtrack made)`);
  return lines;
}

/** Lines about what stays: a project's hooks, files that cannot be read. */
function leftLines(p: Plan): string[] {
  return [
    ...p.unreadable.map((u) => `rtrack: ${u.path} is left as it is (${u.why}): \`rtrack hooks status\` says why; mend it and run \`rtrack uninstall\` again`),
    ...p.projects.map((f) => `rtrack: this project's ${f.path} holds rtrack's hooks and is left as it is (a repository's file): \`rtrack hooks uninstall ${f.agent} --settings ${f.path}\` removes them`),
  ];
}

async function confirmed(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question('Remove them? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

/** Waits for the follower to exit (it does within a tick once the records it follows are gone). */
async function followerGone(state: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await runningFollower(state))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !(await runningFollower(state));
}

export async function uninstallCommand(options: UninstallOptions): Promise<number> {
  const p = plan();
  const lines = planLines(p);
  const left = leftLines(p);
  if (lines.length === 0) {
    process.stdout.write(`${['rtrack: nothing to remove: rtrack wrote nothing for this user (no hooks, no config, no state, no backups)', ...left].join('\n')}\n`);
    return 0;
  }
  process.stdout.write(`rtrack uninstall ${options.dryRun ? 'would remove' : 'removes'}:\n${lines.join('\n')}\n${left.map((l) => `${l}\n`).join('')}`);
  if (options.dryRun) return 0;
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write('rtrack: nothing was removed: give --yes to remove them (stdin is not a terminal to ask on)\n');
      return 1;
    }
    if (!(await confirmed())) {
      process.stdout.write('rtrack: nothing was removed\n');
      return 1;
    }
  }
  const failed: string[] = [];
  const attempt = async (what: string, action: () => unknown): Promise<void> => {
    try {
      await action();
    } catch (err) {
      failed.push(`${what}: ${(err as Error).message.replace(/^hooks: /, '')}`);
    }
  };
  // The hooks first, so that no new session registers; then the records, which makes the follower
  // exit (it follows what they name); then the rest of the state.
  for (const h of p.hooks) await attempt(h.path, () => hooksUninstall(h.agent, { noBackup: true }));
  if (p.config) await attempt(p.config, () => unlinkSync(p.config!));
  if (p.state) {
    const state = p.state;
    await attempt(state, async () => {
      rmSync(sessionsDir(state), { recursive: true, force: true });
      if (!(await followerGone(state, 5000))) throw new Error(`the follower (pid ${(await runningFollower(state))?.pid}) did not exit; run \`rtrack uninstall\` again`);
      rmSync(state, { recursive: true, force: true });
    });
  }
  for (const b of [...p.backups, ...p.hooks.flatMap((h) => backupsOf(h.path))]) if (exists(b)) await attempt(b, () => unlinkSync(b));
  if (p.config) {
    try {
      rmdirSync(dirname(p.config)); // rtrack's own directory, when nothing else is in it
    } catch {
      // not empty, or gone
    }
  }
  if (failed.length > 0) {
    process.stderr.write(`${failed.map((f) => `rtrack: could not remove ${f}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('rtrack: done; `npm uninstall -g rtrack` removes rtrack itself\n');
  return 0;
}
