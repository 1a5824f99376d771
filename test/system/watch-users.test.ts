// A system-wide watch judges each user's processes by that user's own rtrack files too (review:
// root's `watch --scope system --reap` killed what a user kept): their state — what their runs kept
// — and their config's keep patterns, where that user's rtrack has them: under their home, or where
// their processes' environments say (XDG_STATE_HOME, XDG_CONFIG_HOME). A config that cannot be used
// withholds the reaping of that user's processes. Real users (nobody, of /etc/passwd), real runs,
// a real watch.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPasswd } from '../../src/platform/users.js';
import { hasCommand } from '../helpers/debian-tools.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const NOBODY = 65534;
const canSwitchUsers = process.getuid?.() === 0 && hasCommand('setpriv') && readPasswd().get(NOBODY) !== undefined;

/** Runs a shell script as nobody with HOME and the XDG directories under `home`; what it prints. */
function asNobody(home: string, command: string[]): string {
  const env = { PATH: process.env.PATH, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...command], { cwd: home, env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const keepConfig = (patterns: string[]): string => `diagnostics:\n  resource_tracking:\n    keep: [${patterns.map((p) => `'${p}'`).join(', ')}]\n`;

describe.skipIf(!canSwitchUsers)("a system-wide watch honours each user's own state and keep rules", () => {
  it("what a user's run kept (state under XDG_STATE_HOME) and what their config keeps (under XDG_CONFIG_HOME) is never reaped; their other leaks are; a config that cannot be used withholds their reaping", async () => {
    const forOthers = packageForOtherUsers();
    let watch: ChildProcess | undefined;
    try {
      // nobody's home in /etc/passwd is /nonexistent: their rtrack keeps its files where XDG_* say.
      const home = tempDir('watch-user');
      chmodSync(home, 0o755);
      mkdirSync(join(home, 'config', 'rtrack'), { recursive: true });
      mkdirSync(join(home, 'state'));
      const config = join(home, 'config', 'rtrack', 'config.yaml');
      // A pattern that backtracks without end on `aaa…!`: matched by root's watch against nobody's command lines.
      writeFileSync(config, keepConfig(['^sleep 4712$', '^(a+)+$']));
      for (const path of [home, join(home, 'config'), join(home, 'config', 'rtrack'), config, join(home, 'state')]) chownSync(path, NOBODY, NOBODY);
      const node = process.execPath;
      // A run of nobody's that leaves `sleep <seconds>` running (tagged with the run's tag): its pid.
      const leftover = async (keep: string[], seconds: number, command = `sleep ${seconds}`): Promise<number> => {
        const file = join(home, `pid-${seconds}`);
        asNobody(home, [node, forOthers.rtrack, 'run', '--cgroup', 'off', '-q', ...keep, '--', 'bash', '-c', `nohup ${command} >/dev/null 2>&1 & echo $! > ${file}; exit 0`]);
        const pid = Number(readFileSync(file, 'utf8'));
        expect(await jar.adopt(pid)).toBeDefined();
        return pid;
      };
      const keptByRun = await leftover(['--keep', '^sleep 4711$'], 4711);
      const keptByConfig = await leftover([], 4712);
      const leak = await leftover([], 4713);
      // The user's own scan keeps the first two and calls the third a certain leak.
      const own = JSON.parse(asNobody(home, [node, forOthers.rtrack, 'scan', '--json'])) as { certain: { processes: { pid: number }[] }[]; kept: { pid: number }[] };
      expect(own.kept.map((p) => p.pid)).toEqual(expect.arrayContaining([keptByRun, keptByConfig]));
      expect(own.certain.flatMap((g) => g.processes.map((p) => p.pid))).toContain(leak);
      const backtracking = await leftover([], 4715, `bash -c 'exec -a ${'a'.repeat(40)}! sleep 4715'`);

      const rootHome = tempDir('watch-root');
      const env = { ...process.env, HOME: rootHome, XDG_STATE_HOME: join(rootHome, 'state'), XDG_CONFIG_HOME: join(rootHome, 'config') };
      watch = jar.spawn(node, [forOthers.rtrack, 'watch', '--scope', 'system', '--port', '0', '--interval', '200ms', '--reap', '--linger', '200ms', '--grace', '300'], { stdio: ['ignore', 'ignore', 'pipe'], env });
      let stderr = '';
      watch.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      // The round that reaped the leak is over (its summary is logged after every signal it sent).
      expect(await waitFor(() => new RegExp(`INFO reaped a certain leak pid=${leak} [^\n]*result=terminated[^]*INFO reaped certain leaks that lingered`).test(stderr), 20_000, 50), stderr).toBe(true);
      expect({ keptByRun: await isAlive(keptByRun), keptByConfig: await isAlive(keptByConfig), leak: await isAlive(leak) }).toEqual({ keptByRun: true, keptByConfig: true, leak: false });
      expect(await waitFor(async () => !(await isAlive(backtracking)), 5000, 50), stderr).toBe(true); // and the watch did not hang on it

      // A config that cannot be parsed: what it keeps is not guessed, nobody's leaks are not reaped.
      writeFileSync(config, 'diagnostics: [');
      const held = await leftover([], 4714);
      expect(await waitFor(() => /WARN a certain leak is not reaped pid=\d+ command="sleep 4714" user=nobody reason="nobody's rtrack config \(\S+config.yaml\) cannot be used: not a valid config/.test(stderr), 20_000, 50), stderr).toBe(true);
      expect(await isAlive(held)).toBe(true);
      expect(await isAlive(keptByConfig)).toBe(true);
      const url = /listening url=(\S+)/.exec(stderr)![1]!;
      expect(await (await fetch(url.replace('/metrics', '/healthz'))).text()).toMatch(/^warning: nobody's rtrack config \(.*\) cannot be used: not a valid config/m);
    } finally {
      watch?.kill('SIGTERM');
      forOthers.cleanup();
    }
  });
});
