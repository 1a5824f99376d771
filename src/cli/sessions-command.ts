// `rtrack sessions`: the journal of ended agent sessions that left processes.
import { stateDirectory } from '../files.js';
import { readJournal, type JournalEntry } from '../operations/agent-sessions.js';
import { formatEndpoint } from '../rules/cost.js';
import { escapeUnprintable } from '../text.js';
import { formatAge, formatMB, memoryText } from './present.js';

/** `rtrack sessions`: the journal's recent entries, for people or as JSON. */
export async function sessionsCommand(options: { json?: boolean; limit: number }): Promise<number> {
  const { entries, corrupt } = readJournal(stateDirectory());
  if (corrupt > 0) process.stderr.write(`rtrack: warning: ${corrupt} corrupt line${corrupt > 1 ? 's' : ''} in the journal skipped\n`);
  const recent = entries.slice(-options.limit);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(recent, null, 2)}\n`);
    return 0;
  }
  if (recent.length === 0) {
    process.stdout.write('rtrack: no ended session has left anything (the journal is empty)\n');
    return 0;
  }
  for (const e of recent) process.stdout.write(renderEntry(e));
  return 0;
}

function renderEntry(e: JournalEntry): string {
  const age = Math.max(0, Math.round((Date.now() - Date.parse(e.endedAt)) / 1000));
  const lines = [
    `${escapeUnprintable(e.agent)} session ${escapeUnprintable(e.sessionId)}${e.cwd ? ` in ${escapeUnprintable(e.cwd)}` : ''}: ended ${formatAge(age)} ago (${escapeUnprintable(e.reason)}), left ${e.leaked.length} ${e.leaked.length === 1 ? 'process' : 'processes'}, ${memoryText(e.leaked)}`,
  ];
  for (const p of e.leaked) {
    const reaped = e.reaped?.find((r) => r.pid === p.pid);
    const ports = p.cost?.listening?.length ? `  listening on ${p.cost.listening.map(formatEndpoint).join(', ')}` : '';
    const outcome = reaped ? ` → ${reaped.result}` : e.reaping === 'started' ? ' → reaping started, no outcome recorded' : '';
    lines.push(`  ${String(p.pid).padStart(7)} ${formatMB(p.memoryMB).padStart(10)} ${escapeUnprintable(p.command)}  (${p.evidence.join(', ')})${ports}${outcome}`);
  }
  return `${lines.join('\n')}\n`;
}
