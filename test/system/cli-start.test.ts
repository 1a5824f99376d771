// What a short `rtrack run` loads: its start is paid by every wrapped step, so what it does not use
// stays unloaded — node:crypto (a tag's random part comes from /dev/urandom), prom-client (no
// metrics asked for), yaml (no config file). Seen from inside the real CLI process by a preload
// that writes, at exit, what Node loaded.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

describe('rtrack run, as started', () => {
  it('loads neither node:crypto nor prom-client nor yaml', async () => {
    const dir = tempDir('cli-start');
    const preload = join(dir, 'loaded.cjs');
    const out = join(dir, 'loaded.json');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));`,
    );
    const env = { ...process.env, HOME: dir, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), NODE_OPTIONS: `--require ${preload}` };
    const r = await runCli(['run', '--quiet', '--', 'true'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const loaded = JSON.parse(readFileSync(out, 'utf8')) as { builtins: string[]; files: string[] };
    expect(loaded.files.some((f) => f.endsWith('code-cache.cjs'))).toBe(true); // the preload saw the CLI itself (loaded through its code cache, not require())
    expect(loaded.builtins).not.toContain('NativeModule crypto');
    expect(loaded.files.filter((f) => /[/\\]node_modules[/\\](prom-client|yaml)[/\\]/.test(f))).toEqual([]);
  });
});
