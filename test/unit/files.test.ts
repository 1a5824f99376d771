// appendLine appends only to rtrack's own file: never through a link, never to a file with another
// name (a hard link) or of another user — a directory on the way a user can flip (their
// ~/.local/state under `sudo -E`) must not have root's rtrack append to a file of root's (review).
import { chownSync, linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendLine, appendRotated } from '../../src/files.js';
import { tempDir } from '../helpers/temp.js';

describe('appendLine', () => {
  const victim = (): { dir: string; target: string; before: string } => {
    const dir = tempDir('append');
    const target = join(dir, 'bashrc');
    const before = 'export PS1=x\n';
    writeFileSync(target, before);
    return { dir, target, before };
  };

  it('appends to a file of its own, made 0600, and ends a cut line first', () => {
    const dir = tempDir('append');
    const path = join(dir, 'journal.jsonl');
    appendLine(path, '{"a":1}\n');
    writeFileSync(path, '{"cut', { flag: 'a' });
    appendLine(path, '{"b":2}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"cut\n{"b":2}\n');
  });

  it('never writes through a symbolic link, nor into a file with two names: the file it leads to is byte-identical', () => {
    const { dir, target, before } = victim();
    const link = join(dir, 'signals.jsonl');
    symlinkSync(target, link);
    expect(() => appendLine(link, 'x\n')).toThrow();
    expect(() => appendRotated(link, 'x\n', { maxBytes: 1 << 20, keep: 2 })).toThrow();
    const hard = join(dir, 'journal.jsonl');
    linkSync(target, hard);
    expect(() => appendLine(hard, 'x\n')).toThrow(/2 names \(hard links\): nothing was written/);
    expect(readFileSync(target, 'utf8')).toBe(before);
  });

  it.skipIf(process.getuid?.() !== 0)("never into another user's file", () => {
    const { target, before } = victim();
    chownSync(target, 65534, 65534);
    expect(() => appendLine(target, 'x\n')).toThrow(/belongs to uid 65534/);
    expect(readFileSync(target, 'utf8')).toBe(before);
  });
});
