// `rtrack uninstall`: everything rtrack wrote for this user — the hooks of every agent (opencode: its
// plugin), the per-user config, the state directory (session records, journal, logs, what was said
// once) and the backups rtrack made of the files it changed — found (uninstallPlan), then removed
// (removeAll). Not the records of what runs kept while a process of theirs still runs
// (`<state>/kept/`): without them any later rtrack — reinstalled, root's watch — would take that
// process, which carries an over run's tag, for a certain leak of that run. Not rtrack itself, and
// not a project's settings (a repository's, perhaps shared: named in the plan, with the command that
// removes their hooks). The agents' settings are changed as
// `hooks uninstall` changes them (their text edited, links followed, byte for byte as they were on
// error), without a new backup.
import { lstatSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { userConfigPath } from '../config.js';
import { stateDirectory } from '../files.js';
import { runningFollower } from '../operations/agent-sessions.js';
import { keptDir, keptStillRunning } from '../operations/kept-registry.js';
import { sessionsDir } from '../tracking/session-records.js';
import type { HookAgent, PluginAgent } from './hook-commands.js';
import { resolveTarget } from './settings-file.js';
import { hookFiles, removeAgentHooks } from './uninstall.js';

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

/** What `rtrack uninstall` removes, and what it leaves (a project's files). */
export interface UninstallPlan {
  /** The agents whose hooks (opencode: whose plugin) are in the user's own files. */
  hooks: { agent: HookAgent | PluginAgent; path: string }[];
  /** The user's hook files rtrack cannot read (not valid JSON…): their hooks stay, with why. */
  unreadable: { path: string; why: string }[];
  /** A project's files that hold rtrack's hooks: left, with the command that removes them. */
  projects: { agent: HookAgent | PluginAgent; path: string }[];
  config?: string;
  backups: string[];
  /** The state directory, when it holds anything but records of kept processes that still run. */
  state?: string;
  /** Records of what runs kept whose processes still run: left (`<state>/kept/`), with how many. */
  keptLeft?: { dir: string; records: number };
}

export async function uninstallPlan(): Promise<UninstallPlan> {
  const files = hookFiles();
  const settings = files.filter((f) => !f.project).map((f) => f.path);
  const plan: UninstallPlan = {
    hooks: files.filter((f) => !f.project && typeof f.hooks === 'number' && f.hooks > 0).map(({ agent, path }) => ({ agent, path })),
    unreadable: files.filter((f) => !f.project && typeof f.hooks === 'string').map((f) => ({ path: f.path, why: f.hooks as string })),
    projects: files.filter((f) => f.project && typeof f.hooks === 'number' && f.hooks > 0).map(({ agent, path }) => ({ agent, path })),
    backups: [...settings, userConfigPath()].flatMap(backupsOf),
  };
  if (exists(userConfigPath())) plan.config = userConfigPath();
  const state = stateDirectory();
  if (exists(state)) {
    const running = await keptStillRunning(state, false);
    if (running.length > 0) plan.keptLeft = { dir: keptDir(state), records: running.length };
    let names: string[] = [];
    try {
      names = readdirSync(state);
    } catch {
      // unreadable: removed whole, as before
    }
    const onlyKept = running.length > 0 && names.every((n) => n === 'kept') && readdirSync(keptDir(state)).length === running.length;
    if (!onlyKept) plan.state = state;
  }
  return plan;
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

/** Removes the state directory, but for the records of what runs kept whose processes still run (`keep`: their files). */
function removeStateBut(state: string, keep: readonly string[]): void {
  if (keep.length === 0) {
    rmSync(state, { recursive: true, force: true });
    return;
  }
  for (const name of readdirSync(state)) if (name !== 'kept') rmSync(join(state, name), { recursive: true, force: true });
  for (const name of readdirSync(keptDir(state))) if (!keep.includes(join(keptDir(state), name))) rmSync(join(keptDir(state), name), { recursive: true, force: true });
}

/**
 * Removes what the plan names; what removing the hooks did is said on `out`. Resolves with what could
 * not be removed, a line each (`<path>: <why>`); the rest is removed all the same.
 */
export async function removeAll(p: UninstallPlan, out: NodeJS.WritableStream): Promise<string[]> {
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
  for (const h of p.hooks) await attempt(h.path, () => removeAgentHooks(h.agent, { noBackup: true }, out));
  if (p.config) await attempt(p.config, () => unlinkSync(p.config!));
  if (p.state) {
    const state = p.state;
    await attempt(state, async () => {
      rmSync(sessionsDir(state), { recursive: true, force: true });
      if (!(await followerGone(state, 5000))) throw new Error(`the follower (pid ${(await runningFollower(state))?.pid}) did not exit; run \`rtrack uninstall\` again`);
      removeStateBut(state, await keptStillRunning(state, true));
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
  return failed;
}
