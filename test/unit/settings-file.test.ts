// src/hooks/settings-file.ts on real files in a temporary directory: what happens when the file changes
// between the read and the rename, when anything fails, and with links.
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRefused, replaceFileText } from '../../src/hooks/settings-file.js';
import { tempDir } from '../helpers/temp.js';

const append = (line: string) => (text: string | undefined): string => `${text ?? ''}${line}\n`;

describe('replaceFileText', () => {
  it('a change made between the read and the rename is not lost: the edit is made again on the new content', () => {
    const dir = tempDir('settings-file');
    const file = join(dir, 'settings.json');
    writeFileSync(file, 'a\n');
    let changes = 0;
    const result = replaceFileText(file, append('rtrack'), { beforeRecheck: () => changes++ === 0 && writeFileSync(file, 'a\nagent\n') });
    expect(result.changed).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('a\nagent\nrtrack\n');
    expect(readdirSync(dir).filter((n) => n.includes('rtrack-backup')).map((n) => readFileSync(join(dir, n), 'utf8'))).toEqual(['a\nagent\n']);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a file that keeps changing: refused after the tries, the file as the other writer left it, nothing of rtrack left beside it', () => {
    const dir = tempDir('settings-file');
    const file = join(dir, 'settings.json');
    writeFileSync(file, 'a\n');
    let n = 0;
    expect(() => replaceFileText(file, append('rtrack'), { beforeRecheck: () => writeFileSync(file, `other ${++n}\n`) })).toThrow(/kept changing while rtrack was changing it \(5 tries\); it was left unchanged/);
    expect(readFileSync(file, 'utf8')).toBe('other 5\n');
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('after any error the file is byte for byte as it was, and no temporary file or backup is left', () => {
    const dir = tempDir('settings-file');
    const file = join(dir, 'settings.json');
    const bytes = Buffer.from('\ufeff{ "k": "é" }\r\n\t', 'utf8'); // a byte-order mark, CRLF, a trailing tab
    writeFileSync(file, bytes);
    expect(() =>
      replaceFileText(file, append('rtrack'), {
        beforeRecheck: () => {
          throw new Error('disk full');
        },
      }),
    ).toThrow('disk full');
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['settings.json']);
    expect(() => replaceFileText(file, () => { throw new Error('not valid JSON'); })).toThrow('not valid JSON');
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('a dangling link: the file is created where it points, the link kept; no change is no write', () => {
    const dir = tempDir('settings-file');
    mkdirSync(join(dir, 'dotfiles'));
    const link = join(dir, 'settings.json');
    symlinkSync('dotfiles/settings.json', link);
    const result = replaceFileText(link, () => '{}\n');
    expect(result.target).toBe(join(dir, 'dotfiles', 'settings.json'));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('dotfiles/settings.json');
    expect(readFileSync(link, 'utf8')).toBe('{}\n');
    expect(statSync(link).mode & 0o777).toBe(0o600);
    const before = statSync(link);
    expect(replaceFileText(link, (text) => text).changed).toBe(false);
    expect(statSync(link).ino).toBe(before.ino);
  });
});

describe('a symbolic link someone else could have put there is not followed', () => {
  const edit = (text: string | undefined): string => `${(text ?? '{}').trim().slice(0, -1)}, "hooks": {}}\n`;
  // A JSON file of the user's elsewhere (docker's config), and a settings.json link to it in `dir`.
  const linked = (mode: number): { link: string; target: string; before: string } => {
    const root = tempDir('links');
    const target = join(root, 'docker-config.json');
    const before = '{"auths": {}}\n';
    writeFileSync(target, before);
    const dir = join(root, 'claude');
    mkdirSync(dir);
    chmodSync(dir, mode);
    const link = join(dir, 'settings.json');
    symlinkSync(target, link);
    return { link, target, before };
  };

  it('in a directory others can write (not sticky): refused, the file it leads to byte-identical', () => {
    for (const mode of [0o777, 0o775]) {
      const { link, target, before } = linked(mode);
      expect(() => replaceFileText(link, edit)).toThrow(FileRefused);
      expect(() => replaceFileText(link, edit)).toThrow(/reached through the symbolic link .*writable by/);
      expect(readFileSync(target, 'utf8')).toBe(before);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('a link another user owns: refused (as root too)', () => {
    const { link, target, before } = linked(0o700);
    lchownSync(link, 65534, 65534);
    expect(() => replaceFileText(link, edit)).toThrow(/owned by uid 65534/);
    expect(readFileSync(target, 'utf8')).toBe(before);
  });

  it('in the user\'s own directory, or their own entry in a sticky one: followed', () => {
    for (const mode of [0o700, 0o755, 0o1777]) {
      const { link, target } = linked(mode);
      expect(replaceFileText(link, edit).changed).toBe(true);
      expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ auths: {}, hooks: {} });
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
  });
});
