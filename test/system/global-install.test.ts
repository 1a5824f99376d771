// rtrack installed as users install a CLI: `npm install -g` of the packed tarball, into a temporary
// prefix (HOME and XDG_* of rtrack point at a temporary directory; npm reads its packages from its
// own cache, offline). Installing runs no script and prints no warning; the hooks a global install
// writes name its package's path, which an update keeps: after installing a newer tarball over it,
// the hook a stand-in agent runs still registers its session.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { installedHooks, newHome, startSession, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

/** npm as a user runs it, offline from its cache (the tests' dependencies are there: `npm ci` put them), no log files. */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--logs-max=0', '--update-notifier=false'], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** Packs the checkout as it is built (`npm test` built it; prepack would build it again). */
function pack(dir: string, into: string): string {
  const r = npm(['pack', '--ignore-scripts', '--pack-destination', into], dir);
  return join(into, r.stdout.trim().split('\n').pop()!);
}

describe('npm install -g of the packed tarball', () => {
  it('runs no script and warns of nothing; the hooks it installs survive installing a newer version over it', async () => {
    const work = tempDir('global');
    const prefix = join(work, 'prefix');
    const first = pack(CHECKOUT, work);

    const installed = npm(['install', '-g', '--prefix', prefix, first], work);
    expect(`${installed.stdout}${installed.stderr}`).not.toMatch(/warn|script/i);
    const root = join(prefix, 'lib', 'node_modules', 'rtrack');
    expect(readdirSync(root).sort()).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'examples', 'node_modules', 'package.json']);

    const h = newHome(homes);
    const rtrack = join(prefix, 'bin', 'rtrack');
    const run = (args: string[]): SpawnSyncReturns<string> => spawnSync(rtrack, args, { env: h.env, cwd: h.home, encoding: 'utf8' });
    const install = run(['hooks', 'install', 'claude', '--allow-shared-path']); // the prefix is under /tmp
    expect(install.status, install.stderr).toBe(0);
    const settings = join(h.home, '.claude', 'settings.json');
    const hooks = installedHooks(settings);
    expect(hooks.start).toContain(`'${join(root, 'bin', 'rtrack.js')}' session start --agent claude-code`);

    // A newer version, packed from the installed one, installed over it (what `npm update -g` does).
    const next = join(work, 'next');
    spawnSync('mkdir', ['-p', next]);
    expect(spawnSync('tar', ['-xzf', first, '-C', next]).status).toBe(0);
    const manifest = join(next, 'package', 'package.json');
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    writeFileSync(manifest, JSON.stringify({ ...pkg, version: `${pkg.version}-next` }, null, 2));
    const updated = npm(['install', '-g', '--prefix', prefix, pack(join(next, 'package'), work)], work);
    expect(`${updated.stdout}${updated.stderr}`).not.toMatch(/warn|script/i);
    expect(run(['--version']).stdout.trim()).toBe(`${pkg.version}-next`);

    expect(installedHooks(settings)).toEqual(hooks); // nothing to repair
    expect(run(['hooks', 'status']).stdout).toMatch(/settings\.json: claude-code hooks installed \(SessionStart, SessionEnd\)/);
    await startSession(jar, h, 'after-update', { env: { STAND_IN_HOOK_START: hooks.start, STAND_IN_HOOK_END: hooks.end } });
    const registered = (): boolean => {
      try {
        return readdirSync(join(h.state, 'sessions')).some((f) => f.endsWith('.json') && readFileSync(join(h.state, 'sessions', f), 'utf8').includes('"after-update"'));
      } catch {
        return false;
      }
    };
    expect(await waitFor(registered)).toBe(true);
  });

  it('hooks install refuses an rtrack run from npx\'s cache, which npm empties when it likes (one line, exit 2, nothing written)', () => {
    const work = tempDir('npx');
    const cache = join(work, '_npx', '7c366ecaf002f411'); // where `npx rtrack` installs it
    npm(['install', '--prefix', cache, pack(CHECKOUT, work)], work);
    const h = newHome(homes);
    const r = spawnSync(join(cache, 'node_modules', '.bin', 'rtrack'), ['hooks', 'install', 'claude', '--allow-shared-path'], { env: h.env, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^rtrack: hooks: this rtrack runs from npx's cache \(.*\/_npx\/7c366ecaf002f411\/node_modules\/rtrack\/bin\/rtrack\.js\), .*npm install -g rtrack.*; nothing was written\n$/);
    expect(existsSync(join(h.home, '.claude'))).toBe(false);
  });
});
