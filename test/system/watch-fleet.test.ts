// rtrack watch as a fleet runs it (#36): one watch per machine that labels every user, per-user
// watches that serve their own user only on ports of their own, a watch that knows when it is blind,
// every reap on the record, /healthz that notices silence, and signals handled like a daemon's.
// Real processes, real users (uids without a name), real signals; HOME is a temporary directory.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/index.js';
import { startWatchServer } from '../../src/metrics.js';
import type { ScanReport } from '../../src/operations/scan-machine.js';
import { readJournal } from '../../src/tracking/session-records.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { RTRACK } from '../helpers/cli.js';
import { hasCommand, requireOrSkip } from '../helpers/debian-tools.js';
import { total } from '../helpers/exposition.js';
import { memoryStream } from '../helpers/fake-reader.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { promtool } from '../helpers/promtool.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const reader = createLinuxReader();
const isRoot = process.getuid?.() === 0;
// Users with no name on any machine this runs on: their figures are labelled by uid.
const ALICE = 4242;
const BOB = 4243;

interface Watch {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function homeEnv(): NodeJS.ProcessEnv {
  const home = tempDir('watch-home');
  return { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
}

/** Starts `rtrack watch` (through `prefix`: setpriv, unshare) and waits until it listens. */
async function startWatch(args: string[], options: { prefix?: string[]; rtrack?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Watch> {
  const command = [...(options.prefix ?? []), process.execPath, options.rtrack ?? RTRACK, 'watch', '--interval', '200ms', ...args];
  const child = jar.spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: options.env ?? homeEnv() });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  expect(await waitFor(() => /listening url=(\S+)/.test(stderr), 15_000), stderr).toBe(true);
  return { child, url: /listening url=(\S+)/.exec(stderr)![1]!, stderr: () => stderr, exit };
}

async function stop(watch: Watch): Promise<number | null> {
  watch.child.kill('SIGTERM');
  return watch.exit;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

/** A run that is over: its tag is what a certain leak carries. */
async function deadOwnerTag(): Promise<string> {
  const owner = jar.spawn('sleep', ['60']);
  const status = (await reader.readStatus(owner.pid!))!;
  owner.kill('SIGKILL');
  await waitFor(async () => (await reader.readStatus(status.pid))?.alive !== true);
  return formatTaskTag(status, 'f1ee7');
}

/** A certain leak (tagged by a run that is over), run as `uid` when given. */
async function certainLeak(seconds: number, uid?: number): Promise<number> {
  const tag = await deadOwnerTag();
  const as = uid === undefined ? '' : `setpriv --reuid=${uid} --regid=${uid} --clear-groups `;
  const [pid] = await jar.orphan(`${as}sleep ${seconds} >/dev/null 2>&1 & echo $!`, { ...process.env, RESOURCE_TRACKER_TASK: tag });
  return pid!;
}

/** The processes a uid runs now, by the owner of /proc/[pid]. */
function processesOf(uid: number): number {
  let n = 0;
  for (const p of spawnSync('ps', ['-e', '-o', 'uid='], { encoding: 'utf8' }).stdout.split('\n')) if (p.trim() === String(uid)) n++;
  return n;
}

const asUser = (uid: number): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
const canSwitchUsers = isRoot && hasCommand('setpriv');

describe.skipIf(!canSwitchUsers)('one watch per machine, or one per user that serves its own user only', () => {
  it("users' watches take ports of their own (20000 + uid) and serve their own user's figures only; a system-wide watch labels every user; summed, nothing counts twice", async () => {
    const forOthers = packageForOtherUsers();
    try {
      const leak = await certainLeak(640, ALICE);
      const alice = await startWatch([], { prefix: asUser(ALICE), rtrack: forOthers.rtrack });
      const bob = await startWatch([], { prefix: asUser(BOB), rtrack: forOthers.rtrack });
      expect(alice.url).toBe(`http://127.0.0.1:${20000 + ALICE}/metrics`);
      expect(bob.url).toBe(`http://127.0.0.1:${20000 + BOB}/metrics`);
      const system = await startWatch(['--port', '0']);

      let a = '';
      let b = '';
      let s = '';
      // Each user's figure is what that user runs: their watch (and for Alice her leak).
      expect(
        await waitFor(async () => {
          [a, b, s] = await Promise.all([scrape(alice.url), scrape(bob.url), scrape(system.url)]);
          return total(a, 'rtrack_processes', { user: String(ALICE) }) === processesOf(ALICE) && total(s, 'rtrack_processes', { user: String(BOB) }) === processesOf(BOB) && total(s, 'rtrack_leaked_processes', { kind: 'certain', user: String(ALICE) }) === 1;
        }, 15_000, 100),
        `alice:\n${a}\nsystem:\n${s}`,
      ).toBe(true);
      // A user's watch: its own user only, nothing of the machine's under the same names.
      for (const [text, uid] of [[a, ALICE], [b, BOB]] as const) {
        expect(total(text, 'rtrack_processes')).toBe(total(text, 'rtrack_processes', { user: String(uid) }));
        expect(total(text, 'rtrack_processes')).toBeLessThan(total(s, 'rtrack_processes')!);
      }
      expect(total(a, 'rtrack_leaked_processes', { kind: 'certain' })).toBe(1); // Alice's own leak: her watch reads her environments
      expect(total(b, 'rtrack_leaked_processes', { kind: 'certain' })).toBe(0);
      // The system-wide watch: every user, each process once.
      expect(total(s, 'rtrack_processes', { user: String(ALICE) })).toBe(processesOf(ALICE));
      expect(total(s, 'rtrack_processes', { user: 'root' })).toBeGreaterThan(0);
      expect(total(s, 'rtrack_leaked_processes', { kind: 'certain', user: 'root' })).toBe(0);
      expect(await isAlive(leak)).toBe(true);
      for (const w of [alice, bob, system]) expect(await stop(w)).toBe(0);
    } finally {
      forOthers.cleanup();
    }
  });

  it('--scope system without the privileges for it is a usage error; a uid past 45535 needs --port', () => {
    const forOthers = packageForOtherUsers();
    try {
      const run = (uid: number, args: string[]): ReturnType<typeof spawnSync> =>
        spawnSync(asUser(uid)[0]!, [...asUser(uid).slice(1), process.execPath, forOthers.rtrack, 'watch', ...args], { encoding: 'utf8', env: homeEnv(), timeout: 15_000 });
      const system = run(ALICE, ['--scope', 'system', '--port', '0']);
      expect(system.status).toBe(2);
      expect(String(system.stderr)).toMatch(/--scope system needs root or CAP_SYS_PTRACE and CAP_KILL/);
      const nobody = run(65534, []);
      expect(nobody.status).toBe(2);
      expect(String(nobody.stderr)).toMatch(/no default port for uid 65534 .*give --port/);
    } finally {
      forOthers.cleanup();
    }
  });
});

describe.skipIf(!isRoot || !hasCommand('unshare'))('a watch that cannot see the host', () => {
  it('in a PID namespace of its own (unshare --pid --mount-proc) it says so: at start, in /healthz, in rtrack_pid_namespace_host', async () => {
    const watch = await startWatch(['--port', '0'], { prefix: ['unshare', '--pid', '--fork', '--kill-child=SIGTERM', '--mount-proc'] });
    // The watch is unshare's child (PID 1 of the new namespace): signalled, and cleaned up, by its pid here.
    const [inner] = await reader.readChildren([watch.child.pid!]);
    await jar.adopt(inner!.pid);
    expect(watch.stderr()).toMatch(/^WARN this watch runs in a PID namespace that is not the host's: it sees only that namespace's processes/m);
    const health = await fetch(watch.url.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.text()).toMatch(/^ok\nwarning: this watch runs in a PID namespace that is not the host's/);
    expect(total(await scrape(watch.url), 'rtrack_pid_namespace_host')).toBe(0);
    process.kill(inner!.pid, 'SIGTERM');
    expect(await watch.exit).toBe(0);
  });
});

describe('every reap on the record', () => {
  it('watch --reap logs each process it hands to the reaper, journals it, and counts it by result (every result at 0 from the start)', async () => {
    const env = homeEnv();
    const watch = await startWatch(['--port', '0', '--reap', '--linger', '600ms', '--grace', '300'], { env });
    const first = await scrape(watch.url);
    for (const result of ['terminated', 'killed', 'gone', 'identity-changed', 'not-permitted', 'unreadable', 'unattributed', 'refused', 'kept', 'in-use', 'survived']) {
      expect(total(first, 'rtrack_reaped_processes_total', { result }), result).toBe(0);
    }
    const leak = await certainLeak(641);
    expect(await waitFor(async () => !(await isAlive(leak)), 15_000, 50)).toBe(true);
    expect(await waitFor(async () => (total(await scrape(watch.url), 'rtrack_reaped_processes_total', { result: 'terminated' }) ?? 0) >= 1, 10_000, 100)).toBe(true);
    const line = watch.stderr().split('\n').find((l) => l.startsWith('INFO reaped a certain leak ') && l.includes(`pid=${leak} `));
    expect(line, watch.stderr()).toMatch(new RegExp(`^INFO reaped a certain leak pid=${leak} command="sleep 641" user=root evidence=tag tag=\\S+ result=terminated signals=SIGTERM$`));
    expect(await stop(watch)).toBe(0);
    const journal = readJournal(join(env.XDG_STATE_HOME!, 'rtrack'));
    expect([journal.entries, journal.corrupt]).toEqual([[], 0]); // not a session's entry, not a corrupt line
    const records = journal.watchReaps;
    expect(records).toEqual([expect.objectContaining({ kind: 'watch-reap', pid: leak, command: 'sleep 641', evidence: ['tag'], result: 'terminated', signals: ['SIGTERM'], user: 'root', tag: expect.any(String) })]);
  });
});

const emptyScan = (): ScanReport => ({
  timestamp: new Date(), warnings: [], processCount: 1, totalMemoryMB: 1, totalMemoryBytes: 1048576, mcpProcessCount: 0, mcpMemoryMB: 0, mcpMemoryBytes: 0, certain: [], suspected: [], kept: [], leftoverCgroups: [],
});

describe('silence is not health', () => {
  it('/healthz answers 503 once the last good scan is older than three intervals', async () => {
    let calls = 0;
    const server = await startWatchServer({
      port: 0,
      intervalMs: 100,
      logger: createLogger({ stream: memoryStream() }),
      scan: async () => {
        if (calls++ === 0) return emptyScan();
        return new Promise<ScanReport>(() => undefined); // stalls (a /proc read stuck in the kernel)
      },
    });
    const health = (): Promise<Response> => fetch(server.url.replace('/metrics', '/healthz'));
    try {
      expect((await health()).status).toBe(200);
      expect(await waitFor(async () => (await health()).status === 503, 5_000, 50)).toBe(true);
      expect(await (await health()).text()).toMatch(/^stale: the last good scan finished \d+\.\d s ago \(scans every 0\.1 s\)\n$/);
    } finally {
      server.metrics.registry.clear();
      void server.close(); // its stalled scan never ends
    }
  });

  it('close() lets the scan in flight finish first (SIGTERM, SIGINT)', async () => {
    let calls = 0;
    let finished = 0;
    const server = await startWatchServer({
      port: 0,
      intervalMs: 20,
      logger: createLogger({ stream: memoryStream() }),
      scan: async () => {
        calls++;
        if (calls > 1) await new Promise((r) => setTimeout(r, 300));
        finished++;
        return emptyScan();
      },
    });
    expect(await waitFor(() => calls === 2)).toBe(true);
    expect(finished).toBe(1);
    await server.close();
    expect(finished).toBe(2);
  });
});

describe('signals like a daemon', () => {
  it('SIGHUP reads the config again and logs what changed; a bad config is logged and the previous one stays; the watch goes on serving', async () => {
    const env = homeEnv();
    const config = join(env.HOME!, 'rtrack.yaml');
    writeFileSync(config, 'diagnostics:\n  resource_tracking:\n    keep: []\n');
    const leak = await certainLeak(642);
    const watch = await startWatch(['--port', '0', '--config', config], { env });
    const certain = async (): Promise<number> => total(await scrape(watch.url), 'rtrack_leaked_processes', { kind: 'certain' }) ?? -1;
    expect(await waitFor(async () => (await certain()) >= 1)).toBe(true);
    const before = await certain();

    writeFileSync(config, "diagnostics:\n  resource_tracking:\n    keep: ['^sleep 642$']\n");
    watch.child.kill('SIGHUP');
    expect(await waitFor(() => /INFO configuration reloaded signal=SIGHUP changed=keep/.test(watch.stderr()))).toBe(true);
    expect(await waitFor(async () => (await certain()) === before - 1)).toBe(true); // now kept

    writeFileSync(config, 'diagnostics: [unclosed\n');
    watch.child.kill('SIGHUP');
    expect(await waitFor(() => /ERROR configuration not reloaded; the previous one stays signal=SIGHUP error=/.test(watch.stderr()))).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // scans go on with the previous config
    expect(await certain()).toBe(before - 1);
    expect(await isAlive(leak)).toBe(true);
    expect(await stop(watch)).toBe(0);
  });

  it('SIGUSR1 never opens the Node.js inspector', async () => {
    const watch = await startWatch(['--port', '0']);
    for (let i = 0; i < 3; i++) {
      watch.child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(watch.stderr()).not.toMatch(/Debugger listening/);
    expect(watch.stderr()).toMatch(/WARN ignored \(rtrack watch never opens the Node\.js inspector\) signal=SIGUSR1/);
    const sockets = reader.readListeningSockets!([watch.child.pid!]).get(watch.child.pid!) ?? [];
    expect(sockets.map((s) => s.port)).not.toContain(9229);
    expect(sockets).toHaveLength(1); // the metrics endpoint alone
    expect(await stop(watch)).toBe(0);
  });
});

/** A CA, a server certificate for 127.0.0.1 signed by it, in `dir`. */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rtrack test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

function get(url: string, ca: string, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca), ...(auth ? { auth } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--web-config: TLS and basic authentication (the exporter toolkit\'s file)', () => {
  it('serves over TLS to who knows a user\'s password; promtool accepts the file', async () => {
    if (!requireOrSkip('openssl', 'openssl')) return;
    const dir = tempDir('web-config');
    const { ca, cert, key } = certificates(dir);
    const bcrypt = (await import('bcryptjs')).default;
    const file = join(dir, 'web.yml');
    writeFileSync(file, `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 10)}\n`);
    if (hasCommand('promtool')) {
      const check = promtool(['check', 'web-config', file]);
      expect(check.status, check.output).toBe(0);
    }
    const watch = await startWatch(['--port', '0', '--web-config', file]);
    expect(watch.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await get(watch.url, ca)).status).toBe(401);
    expect((await get(watch.url, ca, 'prometheus:wrong')).status).toBe(401);
    expect((await get(watch.url, ca, 'nobody:s3cret')).status).toBe(401);
    const ok = await get(watch.url, ca, 'prometheus:s3cret');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('rtrack_build_info{');
    await expect(fetch(watch.url.replace('https:', 'http:'))).rejects.toThrow(); // no plain HTTP
    expect(await stop(watch)).toBe(0);
  });

  it.each([
    ['tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /tls_server_config\.cipher_suites: not supported by rtrack/],
    ['basic_auth_users:\n  prometheus: plaintext\n', /basic_auth_users\.prometheus: expected a bcrypt hash/],
    ['tls_config: {}\n', /unknown key tls_config/],
    ['tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n', /tls_server_config\.cert_file: cannot read \S+missing\.crt: ENOENT/],
  ])('a web config rtrack cannot honour exits 2 and names the key: %j', async (text, why) => {
    const dir = tempDir('web-config-bad');
    writeFileSync(join(dir, 'web.yml'), text);
    const r = spawnSync(process.execPath, [RTRACK, 'watch', '--port', '0', '--web-config', join(dir, 'web.yml')], { encoding: 'utf8', env: homeEnv(), timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('run --metrics-dir: one file per run', () => {
  it('overlapping runs each write their own file: the one that ends last no longer hides the leak of the other; promtool accepts both', async () => {
    const { runCli, startCli } = await import('../helpers/cli.js');
    const dir = tempDir('textfile-dir');
    // B runs longer than A and leaks nothing; A leaks a sleeper and ends first.
    const b = startCli(['run', '--metrics-dir', dir, '--metrics-job', 'lint', '--', 'sleep', '1.5']);
    const a = await runCli(['run', '--metrics-dir', dir, '--metrics-job', 'nightly', '--', 'bash', '-c', 'sleep 643 >/dev/null 2>&1 & echo $!']);
    await jar.adopt(Number(a.stdout.trim()));
    expect((await b.result).code).toBe(0);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).sort()).toEqual(['rtrack-run-lint.prom', 'rtrack-run-nightly.prom']);
    const nightly = readFileSync(join(dir, 'rtrack-run-nightly.prom'), 'utf8');
    const lint = readFileSync(join(dir, 'rtrack-run-lint.prom'), 'utf8');
    expect(total(nightly, 'rtrack_run_orphans', { rtrack_job: 'nightly' })).toBe(1);
    expect(total(lint, 'rtrack_run_orphans', { rtrack_job: 'lint' })).toBe(0);
    expect(total(nightly, 'rtrack_run_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    if (hasCommand('promtool')) for (const text of [nightly, lint]) expect(promtool(['check', 'metrics'], text).output).toBe('');
    // Without --metrics-job, each run gets a name of its own.
    await runCli(['run', '--metrics-dir', dir, '--', 'true']);
    expect(readdirSync(dir).filter((n) => /^rtrack-run-\d+-\d+\.prom$/.test(n))).toHaveLength(1);
  });

  it('a bad --metrics-dir or --metrics-job is a usage error before the command runs', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const r = await runCli(['run', '--metrics-dir', '/nonexistent-dir', '--', 'true']);
    expect([r.code, r.stderr.trim()]).toEqual([2, 'rtrack: --metrics-dir /nonexistent-dir: not a directory']);
    const j = await runCli(['run', '--metrics-dir', tempDir('textfile-dir'), '--metrics-job', '../up', '--', 'true']);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/--metrics-job "\.\.\/up": expected letters/);
  });
});
