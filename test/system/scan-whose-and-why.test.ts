// What scan says (issue 34): only what is mine, and every "no" with its reason.
//   Mine first: by default scan shows the leaks of the user who runs it (root: everyone's, with a
//   USER column); --all-users widens it; what that user cannot signal gets no reap command and no
//   "would send"; --json carries each process's user. Another user is uid 65533 (no passwd entry:
//   shown by uid), the scanning one nobody (setpriv).
//   Every "no" has its reason: scan --port on a live session's server, and scan --reap --match that
//   names it, say why in the gate's own words (in use by the live session), not "its parent is alive".
// HOME and XDG directories are temporary.
import { spawn } from 'node:child_process';
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, afterAll, describe, expect, it } from 'vitest';
import type { ScanReport } from '../../src/index.js';
import { newHome, startSession, type Home } from '../helpers/agent-homes.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { packageForOtherUsers } from '../helpers/unprivileged.js';

const jar = new ProcessJar();
const homes: Home[] = [];
afterEach(() => jar.cleanup());

const OTHER = 65533;
const as = (uid: number): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];

describe.skipIf(process.getuid?.() !== 0)('mine first', () => {
  const forNobody = packageForOtherUsers();
  afterAll(() => forNobody.cleanup());

  /** `rtrack <args>` run as nobody, in a home of nobody's. */
  function asNobody(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const home = tempDir('nobody-home');
    chownSync(home, 65534, 65534);
    return new Promise((resolve) => {
      const c = spawn(as(65534)[0]!, [...as(65534).slice(1), process.execPath, forNobody.rtrack, ...args], {
        cwd: '/',
        env: { PATH: process.env.PATH, HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("another user's leaked node processes are not nobody's: not shown by default, shown with their user and never offered to reap with --all-users; root sees everyone's with a USER column", async () => {
    // Three `node -e setInterval(…)` of another user, re-parented (as the issue saw), and one leak of nobody's own.
    const others = await jar.orphan(`for i in 1 2 3; do ${as(OTHER).join(' ')} bash -c 'exec -a "node -e setInterval(()=>{},1e6) $0" sleep 681' $i >/dev/null 2>&1 & echo $!; done`);
    const [own] = await jar.orphan(`${as(65534).join(' ')} bash -c 'exec -a "npm exec @playwright/mcp whose-check" sleep 682' >/dev/null 2>&1 & echo $!`);
    expect(others).toHaveLength(3);
    expect(await waitFor(async () => (await runCli(['scan', '--json'])).stdout.includes('whose-check'))).toBe(true);

    const mine = JSON.parse((await asNobody(['scan', '--json'])).stdout) as ScanReport;
    const shown = mine.suspected.flatMap((g) => g.processes.map((p) => p.pid));
    expect(shown).toContain(own);
    for (const pid of others) expect(shown).not.toContain(pid);
    expect(mine.scannedAs).toEqual({ uid: 65534, name: 'nobody' });
    expect(mine.whose).toBe('mine');
    expect(mine.otherUsers?.groups).toBeGreaterThanOrEqual(3);
    expect(mine.suspected.flatMap((g) => g.processes).find((p) => p.pid === own)?.user).toEqual({ uid: 65534, name: 'nobody' });
    const text = await asNobody(['scan']);
    expect(text.stdout).not.toMatch(/unreadable, counted by RSS/);
    expect(text.stdout).toMatch(/not shown: \d+ groups of other users \(\d+ processes\), which you cannot signal: rtrack scan --all-users shows them/);
    const dry = await asNobody(['scan', '--reap', '--dry-run']);
    expect(dry.stdout).toContain('whose-check');
    expect(dry.stdout).not.toContain('setInterval');

    const all = JSON.parse((await asNobody(['scan', '--all-users', '--json'])).stdout) as ScanReport;
    const theirs = all.suspected.flatMap((g) => g.processes).filter((p) => others.includes(p.pid));
    expect(theirs.map((p) => p.pid).sort()).toEqual([...others].sort());
    for (const p of theirs) expect(p.user).toEqual({ uid: OTHER });
    const wide = await asNobody(['scan', '--all-users']);
    for (const pid of others) expect(wide.stdout).toMatch(new RegExp(`^ +${pid} 65533 +\\d`, 'm')); // a USER column
    // no reap command, no "would send" for what nobody cannot signal
    const wideDry = await asNobody(['scan', '--all-users', '--reap', '--dry-run']);
    expect(wideDry.stdout).not.toMatch(/--match '[^']*setInterval/);
    expect(wideDry.stdout).toContain("the 3 other users' suspected trees above are not yours to signal");
    expect(wideDry.stdout).toMatch(/--match '[^']*whose-check/);
    const named = await asNobody(['scan', '--all-users', '--reap', '--match', 'setInterval|whose-check', '--dry-run']);
    expect(named.stdout).toMatch(/would send SIGTERM to 1 process in this order/);
    for (const pid of others) expect(named.stdout).toMatch(new RegExp(`^ {2}${pid} node -e setInterval.*: not yours \\(it runs as 65533\\)$`, 'm'));
    for (const pid of [...others, own!]) expect(await isAlive(pid)).toBe(true);

    // root may signal everyone's: all shown, each with its user
    const root = await runCli(['scan']);
    for (const pid of others) expect(root.stdout).toMatch(new RegExp(`^ +${pid} 65533 +\\d`, 'm'));
    expect(root.stdout).toMatch(new RegExp(`^ +${own} nobody +\\d`, 'm'));
  });
});

describe("every \"no\" has its reason: a live session's dev server", () => {
  it('scan --port says it is in use by the live session (not "its parent 1 is alive"); scan --reap --match naming it says why it is not reaped', async () => {
    const h = newHome(homes);
    const port = await freePort();
    const session = `why-${Date.now().toString(16)}`;
    const s = await startSession(jar, h, session, { env: { STAND_IN_SERVER_PORT: String(port) } });
    const server = s.pids.devServer!;
    expect(await waitFor(async () => (await runCli(['scan', '--port', String(port)], { env: h.env })).code === 0)).toBe(true);

    const held = await runCli(['scan', '--port', String(port)], { env: h.env });
    expect(held.stdout).toMatch(new RegExp(`^port ${port}: ${server}, in use \\(belongs to the live claude-code session ${session}\\), listening on 127\\.0\\.0\\.1:${port}: .*http\\.server ${port}`, 'm'));
    expect(held.stdout).not.toMatch(/its parent 1/);
    expect(held.stdout).not.toMatch(/to reap it/);
    const json = JSON.parse((await runCli(['scan', '--port', String(port), '--json'], { env: h.env })).stdout) as { holders: { pid: number; notReaped?: { kind: string; reason: string } }[] };
    expect(json.holders.find((x) => x.pid === server)?.notReaped).toEqual({ kind: 'in-use', reason: `belongs to the live claude-code session ${session}` });

    const pattern = `http\\.server ${port}`;
    const reap = await runCli(['scan', '--reap', '--match', pattern, '--yes', '--grace', '300'], { env: h.env });
    expect(reap.code).toBe(0);
    expect(reap.stdout).toContain(`--match '${pattern}' names 1 process that is not reaped:`);
    expect(reap.stdout).toMatch(new RegExp(`^ {2}${server} .*http\\.server ${port}.*: in use \\(belongs to the live claude-code session ${session}\\)$`, 'm'));
    expect(await isAlive(server)).toBe(true);
  });
});
