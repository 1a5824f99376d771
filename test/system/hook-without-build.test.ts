// A hook must never break the agent, also when its checkout has no build: `npm run build` starts by
// removing dist/ (and tsc then takes seconds), a `git clean -fdx`, a copy without its build. The
// installed hook checks only that bin/rtrack.js and Node exist (found by review: every SessionStart
// and SessionEnd printed a Node stack trace). A command a person types says what to do, in one line.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hookCommand } from '../../src/hooks/hook-commands.js';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

describe('a checkout without its build', () => {
  it('the installed hooks exit 0 and say nothing', () => {
    const dir = tempDir('review-nodist');
    const copy = join(dir, 'rtrack');
    mkdirSync(copy);
    for (const part of ['bin', 'package.json']) cpSync(join(CHECKOUT, part), join(copy, part), { recursive: true }); // dist/ removed by a rebuild
    const home = tempDir('review-nodist-home');
    const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache') };
    for (const subcommand of ['start', 'end'] as const) {
      const command = hookCommand({ node: process.execPath, bin: join(copy, 'bin', 'rtrack.js'), subcommand, agent: 'claude-code' });
      const r = spawnSync('/bin/sh', ['-c', command], { input: '{"session_id":"s","hook_event_name":"SessionStart"}', env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(''); // was a MODULE_NOT_FOUND stack trace
    }
  });

  it('a command a person types is one line naming the checkout, exit 1', () => {
    const dir = tempDir('nodist-cli');
    const copy = join(dir, 'rtrack');
    mkdirSync(copy);
    for (const part of ['bin', 'package.json']) cpSync(join(CHECKOUT, part), join(copy, part), { recursive: true });
    const r = spawnSync(process.execPath, [join(copy, 'bin', 'rtrack.js'), 'scan'], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`rtrack: ${copy} is not built; run \`npm run build\` there\n`);
  });
});
