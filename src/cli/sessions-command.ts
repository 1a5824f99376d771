// `rtrack sessions`: the journal of ended agent sessions that left processes, and whether the
// follower that writes it reaps (and which config it reads).
import { stateDirectory } from '../files.js';
import { endReasonText } from '../hooks/hook-input.js';
import { followerConfigLines } from '../hooks/status.js';
import { bootInfo, readJournal, type JournalEntry } from '../tracking/session-records.js';
import { platformReader } from '../platform/index.js';
import { recordBoot } from '../rules/follower-state.js';
import { identityKey } from '../rules/identity.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import { escapeUnprintable, shellQuote } from '../text.js';
import { counted, formatAge, memoryText, renderLeftProcesses, type Layout } from './present.js';
import { terminalLayout } from './terminal-layout.js';

/** `rtrack sessions`: the journal's recent entries, for people or as JSON. */
export async function sessionsCommand(options: { json?: boolean; limit: number }): Promise<number> {
  const { entries, corrupt } = readJournal(stateDirectory());
  if (corrupt > 0) process.stderr.write(`rtrack: warning: ${corrupt} corrupt line${corrupt > 1 ? 's' : ''} in the journal skipped\n`);
  const recent = entries.slice(-options.limit);
  const running = await stillRunning(recent);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(recent.map((e) => ({ ...e, stillRunning: running.get(e) ?? [] })), null, 2)}\n`);
    return 0;
  }
  const layout = await terminalLayout(process.stdout);
  if (recent.length === 0) process.stdout.write('rtrack: no ended session has left anything (the journal is empty)\n');
  for (const e of recent) process.stdout.write(renderEntry(e, running.get(e) ?? [], layout));
  // Last, where it is read after the entries: what the follower does with the next session's leftovers.
  for (const line of await followerConfigLines()) process.stdout.write(`rtrack: ${line}\n`);
  return 0;
}

/**
 * Which of each entry's leftovers still run: the same identity (pid and start time) now, in this
 * boot. One look at the table (no command line or environment read for this).
 */
async function stillRunning(entries: readonly JournalEntry[]): Promise<Map<JournalEntry, number[]>> {
  const running = new Map<JournalEntry, number[]>();
  if (!entries.some((e) => e.leaked.some((p) => p.identity))) return running;
  const reader = platformReader();
  const alive = new Set((await takeSnapshot({ reader })).processes.map(identityKey));
  const boot = bootInfo(reader);
  for (const e of entries) {
    if (recordBoot({ ...(e.bootId ? { bootId: e.bootId } : {}), startedAt: e.endedAt }, boot) !== 'this') continue;
    const pids = e.leaked.filter((p) => p.identity !== undefined && alive.has(p.identity)).map((p) => p.pid);
    if (pids.length > 0) running.set(e, pids);
  }
  return running;
}

function renderEntry(e: JournalEntry, running: readonly number[], layout: Layout | undefined): string {
  const age = Math.max(0, Math.round((Date.now() - Date.parse(e.endedAt)) / 1000));
  const header = `${escapeUnprintable(e.agent)} session ${escapeUnprintable(e.sessionId)}${e.cwd ? ` in ${escapeUnprintable(e.cwd)}` : ''}: ended ${formatAge(age)} ago (${escapeUnprintable(endReasonText(e.reason))}), left ${counted(e.leaked.length, 'process', 'processes')}, ${memoryText(e.leaked)}`;
  const results = new Map<number, string>((e.reaped ?? []).map((r) => [r.pid, r.result]));
  // Reaping was started (the entry is written before the first signal) but no outcome was recorded: the follower died meanwhile.
  if (e.reaping === 'started' && e.reaped === undefined) for (const p of e.leaked) results.set(p.pid, 'reaping started, no outcome recorded');
  for (const pid of running) results.set(pid, results.has(pid) ? `${results.get(pid)}, still running` : 'still running');
  const rendered = renderLeftProcesses(header, e.leaked, results, layout);
  if (running.length === 0) return rendered;
  // Still running, identity-checked: `rtrack scan` reports them as this session's certain leaks.
  const them = running.length === 1 ? 'it' : 'them';
  return `${rendered}  ${counted(running.length, 'process', 'processes')} of it still ${running.length === 1 ? 'runs' : 'run'}; to reap ${them}: rtrack scan --reap --session ${shellQuote(e.sessionId)}\n`;
}
