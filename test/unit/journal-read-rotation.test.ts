// `rtrack sessions` (and scan's journalled leftovers) read the journal's generations one after the
// other, oldest first. The follower rotates the journal when an append would take journal.jsonl
// past 1 MiB; found by review: a rotation between those reads gave the old journal.1.jsonl and the
// new, almost empty journal.jsonl — up to 1 MiB of the newest sessions and their kills missing from
// that read. The read is made again when a generation changed under it (files.ts, readGenerations).
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const hook: { onRead?: (path: string) => void } = {};
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (typeof path === 'string') hook.onRead?.(path);
    return (fs.readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const { appendJournal } = await import('../../src/operations/agent-sessions.js');
const { readJournal } = await import('../../src/tracking/session-records.js');
const { tempDir } = await import('../helpers/temp.js');
type JournalEntry = import('../../src/tracking/session-records.js').JournalEntry;

const entry = (i: number): JournalEntry => ({
  agent: 'claude-code',
  sessionId: `s-${i}`,
  agentPid: 5,
  startedAt: '',
  endedAt: '',
  reason: 'other',
  leaked: Array.from({ length: 300 }, (_, pid) => ({ pid, command: `worker ${pid} ${'y'.repeat(100)}`, memoryMB: 1, evidence: ['lineage'] })),
});

describe('rtrack sessions across a rotation', () => {
  it('an entry journalled before the read began is in the read, even when the follower rotates the journal during it', async () => {
    const state = tempDir('review-journal');
    let n = 0;
    while (n < 40) appendJournal(state, entry(n++)); // ~40 KB each: journal.jsonl and journal.1.jsonl exist
    const before = readJournal(state).entries.map((e) => e.sessionId);
    expect(before).toContain('s-39');

    let rotated = false;
    // make sure the next append rotates: fill journal.jsonl to just under its bound
    const { statSync } = await import('node:fs');
    while (statSync(join(state, 'journal.jsonl')).size + 45_000 <= (1 << 20)) appendJournal(state, entry(n++));
    const journalled = readJournal(state).entries.map((e) => e.sessionId);
    const last = `s-${n - 1}`;
    expect(journalled).toContain(last);

    hook.onRead = (path) => {
      if (rotated || path !== join(state, 'journal.jsonl')) return;
      rotated = true;
      appendJournal(state, entry(n++)); // the follower's append: journal.jsonl → journal.1.jsonl, a new journal.jsonl
    };
    const during = readJournal(state).entries.map((e) => e.sessionId);
    hook.onRead = undefined;
    expect(rotated).toBe(true);
    // was: s-0…s-20 and the new one — every session of the journal.jsonl that was rotated under the reader is missing
    expect(during).toContain(last);
    expect(during.length).toBeGreaterThanOrEqual(journalled.length);
  });
});
