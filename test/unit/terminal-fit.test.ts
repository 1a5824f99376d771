// Lines fitted to a terminal (src/cli/terminal-layout.ts): prose wraps; a command to copy is broken
// between shell words with ` \`, a word wider than a line into single-quoted pieces — and what is
// pasted into a shell is still the same command, word for word.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { fitLine, terminalLayout } from '../../src/cli/terminal-layout.js';
import type { Layout } from '../../src/cli/present.js';
import { shellQuote } from '../../src/text.js';

const layoutOf = async (columns: number): Promise<Layout> => (await terminalLayout({ isTTY: true, columns } as NodeJS.WriteStream))!;
/** The words a POSIX shell makes of the lines, pasted as they are. */
const wordsOf = (lines: readonly string[]): string[] => {
  const r = spawnSync('/bin/sh', ['-c', `set -- ${lines.join('\n')}\nprintf '%s\\0' "$@"`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
};

describe('fitting a line to the terminal', () => {
  it('a line that fits is left as it is; prose wraps with its continuation indented', async () => {
    const layout = await layoutOf(40);
    expect(fitLine('rtrack: a short line', layout)).toEqual(['rtrack: a short line']);
    const wrapped = fitLine('  codex: Codex needs no hooks: rtrack finds its sessions by the markers its processes carry', layout);
    expect(wrapped.length).toBeGreaterThan(1);
    for (const line of wrapped) expect(stringWidth(line)).toBeLessThanOrEqual(40);
    expect(wrapped[1]).toMatch(/^ {4}\S/);
    expect(fitLine('rtrack scan: 292 processes, 905.8 MB RSS (browser automation: 0, 0.0 MB) and more', layout)[1]).toMatch(/^ {2}\S/); // a title, not a command
  });

  it('a command to copy is broken between words, and a word wider than a line in pieces: the shell reads the same words', async () => {
    const layout = await layoutOf(40);
    const words = ['rtrack', 'scan', '--reap', '--match', "^node /home/agent/\\.npm/_npx/9833c18b/node_modules/@modelcontextprotocol/server-filesystem/dist/index\\.js( |$)", '--yes'];
    const line = `  ${words.map((w, i) => (i === 4 ? shellQuote(w) : w)).join(' ')}`;
    const fitted = fitLine(line, layout);
    for (const l of fitted) expect(stringWidth(l), l).toBeLessThanOrEqual(40);
    expect(fitted[0]).toBe('  rtrack scan --reap --match \\');
    expect(wordsOf(fitted)).toEqual(words);
  });

  it('any command line, at any width: every line fits and the shell reads the same words', async () => {
    const word = fc.stringMatching(/^[a-z0-9 '"$\\.()|^*-]{1,60}$/);
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 6 }), fc.integer({ min: 24, max: 100 }), async (args, columns) => {
        const layout = await layoutOf(columns);
        const words = ['rtrack', 'scan', '--match', ...args];
        const fitted = fitLine(`  ${words.map((w, i) => (i < 3 ? w : shellQuote(w))).join(' ')}`, layout);
        for (const l of fitted) expect(stringWidth(l), l).toBeLessThanOrEqual(columns);
        expect(wordsOf(fitted)).toEqual(words);
      }),
      { numRuns: 60 },
    );
  });
});
