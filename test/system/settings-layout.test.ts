// hooks install|uninstall on settings laid out every way people write them (found by review: each
// case lost a comment of the user's or re-laid out their members through jsonc-parser's modify(),
// and applySettingsEdits compared only the parsed values). Every byte but rtrack's hooks stays.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOW_SHARED } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const node = process.execPath;
const hook = (event: 'start' | 'end'): string => `[ -f ${quote(RTRACK)} ] && [ -x ${quote(node)} ] && ${quote(node)} ${quote(RTRACK)} session ${event} --agent gemini-cli || true`;
const group = (event: 'start' | 'end'): string => `{ "hooks": [ { "type": "command", "command": ${JSON.stringify(hook(event))}, "timeout": 10000 } ] }`;
const mine = '{ "hooks": [ { "type": "command", "command": "~/bin/warm-db" } ] }';

function newHome(): { home: string; env: NodeJS.ProcessEnv; settings: string } {
  const home = tempDir('settings-layout');
  mkdirSync(join(home, '.gemini'));
  const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache'), XDG_RUNTIME_DIR: join(home, 'run') };
  return { home, settings: join(home, '.gemini', 'settings.json'), env };
}

/** Block and line comments in the text, in order (not inside strings: none of these texts has `//` or `/*` in a string). */
const comments = (text: string): string[] => text.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/\/\/[^\r\n]*|\/\*[\s\S]*?\*\//g) ?? [];

async function roundTrip(original: string): Promise<{ installed: string; back: string }> {
  const h = newHome();
  writeFileSync(h.settings, original);
  const i = await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini'], { env: h.env, cwd: h.home });
  expect(i.code, i.stderr).toBe(0);
  const installed = readFileSync(h.settings, 'utf8');
  const u = await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env, cwd: h.home });
  expect(u.code, u.stderr).toBe(0);
  return { installed, back: readFileSync(h.settings, 'utf8') };
}

async function uninstall(original: string): Promise<string> {
  const h = newHome();
  writeFileSync(h.settings, original);
  const u = await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env, cwd: h.home });
  expect(u.code, u.stderr).toBe(0);
  return readFileSync(h.settings, 'utf8');
}

describe('install → uninstall gives the file back, every comment of the user\'s in it', () => {
  it.each([
    // rtrack's group goes in on that line, before the comment; uninstall takes it out again
    ['a comment after the user\'s one-line SessionStart group, before `]`', `{\n  "hooks": { "SessionStart": [ ${mine} /* warms the dev DB */ ] }\n}\n`],
    ['a comment after the last member, before `}` on its line', '{\n  "ui": { "theme": "Dracula" } /* default */ }\n'],
  ])('%s', async (_name, original) => {
    const { back } = await roundTrip(original);
    expect(comments(back)).toEqual(comments(original));
    expect(back).toBe(original);
  });
});

describe('install keeps the user\'s members as they are laid out', () => {
  it.each([
    ['two members on one line', '{\n  "general": { "vimMode": true }, "ui": { "theme": "Dracula" }\n}\n', '"general": { "vimMode": true }, "ui": { "theme": "Dracula" }'],
    ['the user\'s SessionStart list on one line', `{\n  "hooks": {\n    "SessionStart": [ ${mine} ]\n  }\n}\n`, `"SessionStart": [ ${mine}`],
  ])('%s: kept on install, and the file given back by uninstall', async (_name, original, kept) => {
    const { installed, back } = await roundTrip(original);
    expect(installed).toContain(kept);
    expect(back).toBe(original);
  });

  it('a file with LF line ends and one CRLF line keeps its line ends', async () => {
    const original = '{\n  "a": 1,\r\n  "b": 2\n}\n';
    const { back } = await roundTrip(original);
    expect(back).toBe(original);
  });
});

describe('uninstall removes rtrack\'s own text only', () => {
  it('rtrack\'s group on the line of a user\'s group: the user\'s comment between their group and the comma stays, their group as it was', async () => {
    const original = `{\n  "hooks": {\n    "SessionStart": [\n      ${mine} /* warms the dev DB */, ${group('start')}\n    ],\n    "SessionEnd": [\n      ${group('end')}\n    ]\n  }\n}\n`;
    const after = await uninstall(original);
    expect(after).toBe(`{\n  "hooks": {\n    "SessionStart": [\n      ${mine} /* warms the dev DB */\n    ]\n  }\n}\n`);
  });

  it('comma first: a comment on a line of its own above the next member stays', async () => {
    const original = `{\n  "hooks": { "SessionStart": [ ${group('start')} ], "SessionEnd": [ ${group('end')} ] }\n  // the UI: keep Dracula\n  , "ui": { "theme": "Dracula" }\n}\n`;
    const after = await uninstall(original);
    expect(comments(after)).toEqual(['// the UI: keep Dracula']);
  });

  it('a comment on lines of its own between rtrack\'s group and its comma stays', async () => {
    const original = `{\n  "hooks": {\n    "SessionStart": [\n      ${group('start')}\n      // my hook below: warms the dev DB\n      ,\n      ${mine}\n    ],\n    "SessionEnd": [ ${group('end')} ]\n  }\n}\n`;
    const after = await uninstall(original);
    expect(comments(after)).toEqual(['// my hook below: warms the dev DB']);
  });
});
