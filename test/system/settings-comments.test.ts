// `rtrack hooks install|uninstall gemini-cli` on a Gemini CLI settings file with comments: every
// byte but rtrack's hooks stays. Found by review: jsonc-parser's modify() removed the comments
// between a removed member and its neighbour and re-laid out the neighbour's value.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOW_SHARED } from '../helpers/agent-homes.js';
import { RTRACK, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const node = process.execPath;
const startHook = `[ -f ${quote(RTRACK)} ] && [ -x ${quote(node)} ] && ${quote(node)} ${quote(RTRACK)} session start --agent gemini-cli || true`;

function newHome(): { home: string; env: NodeJS.ProcessEnv; settings: string } {
  const home = tempDir('review-comments');
  mkdirSync(join(home, '.gemini'));
  return { home, settings: join(home, '.gemini', 'settings.json'), env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache') } };
}

describe('hooks install|uninstall keep the user\'s comments and layout', () => {
  it('a comment of the user\'s above their own hook, after rtrack\'s group, survives uninstall', async () => {
    const h = newHome();
    const original = `{
  "hooks": {
    "SessionStart": [
      { "hooks": [ { "type": "command", "command": ${JSON.stringify(startHook)}, "timeout": 10000 } ] },
      // my own SessionStart hook: keeps the dev DB warm (do not remove)
      { "hooks": [ { "type": "command", "command": "~/bin/warm-db" } ] }
    ]
  }
}
`;
    writeFileSync(h.settings, original);
    const r = await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env, cwd: h.home });
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(h.settings, 'utf8');
    expect(after).toContain('~/bin/warm-db'); // the hook is kept…
    expect(after).toContain('// my own SessionStart hook: keeps the dev DB warm (do not remove)'); // …and its comment
  });

  it('a comment trailing the key before "hooks" survives uninstall, and that key\'s value keeps its formatting', async () => {
    const h = newHome();
    const original = `{
  "general": { "vimMode": true }, // vim: keep this note
  "hooks": {
    "SessionStart": [ { "hooks": [ { "type": "command", "command": ${JSON.stringify(startHook)}, "timeout": 10000 } ] } ]
  },
  "ui": { "theme": "Dracula" }
}
`;
    writeFileSync(h.settings, original);
    const r = await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env, cwd: h.home });
    expect(r.code, r.stderr).toBe(0);
    // was '{\n  "general": {\n    "vimMode": true\n  },\n  "ui": …': the comment gone, the user's object re-laid out
    expect(readFileSync(h.settings, 'utf8')).toBe('{\n  "general": { "vimMode": true }, // vim: keep this note\n  "ui": { "theme": "Dracula" }\n}\n');
  });

  it('install then uninstall gives a file back byte for byte when its last value is on one line with a comment', async () => {
    const h = newHome();
    const original = '{\n  // Gemini settings\n  "model": { "name": "gemini-2.5-pro" } // pinned model: do not change\n}\n';
    writeFileSync(h.settings, original);
    expect((await runCli(['hooks', 'install', ...ALLOW_SHARED, 'gemini'], { env: h.env, cwd: h.home })).code).toBe(0);
    const installed = readFileSync(h.settings, 'utf8');
    // was: the user's one-line "model" value is re-laid out over three lines, and their comment
    // now trails rtrack's "hooks" block instead of the model line
    expect(installed).toContain('"model": { "name": "gemini-2.5-pro" }');
    expect((await runCli(['hooks', 'uninstall', 'gemini'], { env: h.env, cwd: h.home })).code).toBe(0);
    expect(readFileSync(h.settings, 'utf8')).toBe(original);
  });
});
