// `rtrack sessions`: the journal of ended agent sessions that left processes, and whether the
// follower that writes it reaps (and which config it reads).
import { stateDirectory } from '../files.js';
import { readJournal, type JournalEntry } from '../operations/agent-sessions.js';
import { escapeUnprintable } from '../text.js';
import { followerConfigLines } from './hooks-command.js';
import { counted, formatAge, memoryText, renderLeftProcesses, type Layout } from './present.js';
import { terminalLayout } from './terminal-layout.js';

/** `rtrack sessions`: the journal's recent entries, for people or as JSON. */
export async function sessionsCommand(options: { json?: boolean; limit: number }): Promise<number> {
  const { entries, corrupt } = readJournal(stateDirectory());
  if (corrupt > 0) process.stderr.write(`rtrack: warning: ${corrupt} corrupt line${corrupt > 1 ? 's' : ''} in the journal skipped\n`);
  const recent = entries.slice(-options.limit);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(recent, null, 2)}\n`);
    return 0;
  }
  const layout = await terminalLayout(process.stdout);
  if (recent.length === 0) process.stdout.write('rtrack: no ended session has left anything (the journal is empty)\n');
  for (const e of recent) process.stdout.write(renderEntry(e, layout));
  // Last, where it is read after the entries: what the follower does with the next session's leftovers.
  for (const line of await followerConfigLines()) process.stdout.write(`rtrack: ${line}\n`);
  return 0;
}

function renderEntry(e: JournalEntry, layout: Layout | undefined): string {
  const age = Math.max(0, Math.round((Date.now() - Date.parse(e.endedAt)) / 1000));
  const header = `${escapeUnprintable(e.agent)} session ${escapeUnprintable(e.sessionId)}${e.cwd ? ` in ${escapeUnprintable(e.cwd)}` : ''}: ended ${formatAge(age)} ago (${escapeUnprintable(e.reason)}), left ${counted(e.leaked.length, 'process', 'processes')}, ${memoryText(e.leaked)}`;
  const results = new Map<number, string>((e.reaped ?? []).map((r) => [r.pid, r.result]));
  // Reaping was started (the entry is written before the first signal) but no outcome was recorded: the follower died meanwhile.
  if (e.reaping === 'started' && e.reaped === undefined) for (const p of e.leaked) results.set(p.pid, 'reaping started, no outcome recorded');
  return renderLeftProcesses(header, e.leaked, results, layout);
}
