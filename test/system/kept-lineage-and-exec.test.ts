// Found by an adversarial review (each failed on 4c44047): ways rtrack signalled a process it must
// leave alone. HOME and XDG directories are temporary; every process the
// tests start is killed by pid afterwards.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readJournal } from '../../src/tracking/session-records.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskReport } from '../../src/index.js';
import { locateCgroupParent } from '../../src/platform/cgroup.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import type { PlatformReader } from '../../src/platform/types.js';
import { reapOrphans } from '../../src/operations/reap.js';
import type { AttributedProcess } from '../../src/types.js';
import { takeSnapshot } from '../../src/tracking/snapshot.js';
import { followerConfig, hookCommand, newHome, stopFollowers, type Home } from '../helpers/agent-homes.js';
import { runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
const homes: Home[] = [];
const root = process.getuid?.() === 0;
const where = locateCgroupParent();

afterEach(async () => {
  await stopFollowers(homes, jar);
  await jar.cleanup();
});

/**
 * `rtrack run --reap <args> -- bash -c <script>`: its report, with every process it names and the
 * one whose pid the script wrote to `pidFile` adopted by the jar (killed after the test).
 */
async function reapingRun(h: Home, script: string, pidFile: string, args: string[]): Promise<{ report: TaskReport; pid: number }> {
  const r = await runCli(['run', '--reap', ...args, '--report', '-', '--', 'bash', '-c', script], { env: h.env, cwd: h.home, timeoutMs: 40_000 });
  expect(existsSync(pidFile)).toBe(true);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await jar.adopt(pid);
  const report = JSON.parse(r.stdout) as TaskReport;
  for (const p of [...(report.reaped ?? []), ...report.kept]) await jar.adopt(p.pid);
  return { report, pid };
}

describe.skipIf('why' in where || !root)('K: run --reap with a cgroup and a process kept through the lineage', () => {
  it('a scrubbed child of a kept parent that has exited is reported kept ("not touched") and must survive the cgroup kill', async () => {
    const h = newHome(homes);
    const dir = tempDir('kept-lineage');
    const keptPidFile = join(dir, 'kept.pid');
    // A kept launcher (RESOURCE_TRACKER_KEEP=1) starts a daemon that scrubs its environment and
    // exits; the task also leaks one ordinary process, so that reaping happens.
    const script = [
      `RESOURCE_TRACKER_KEEP=1 bash -c 'env -i sleep 1001 >/dev/null 2>&1 & echo $! > ${keptPidFile}; sleep 0.7' >/dev/null 2>&1 &`,
      'sleep 1002 >/dev/null 2>&1 &',
      'sleep 1.5',
    ].join('\n');
    const { report, pid: kept } = await reapingRun(h, script, keptPidFile, ['--grace', '300ms']);
    // The run's verdict keeps it (its kept parent was seen in the lineage) and says it was not touched…
    expect(report.kept.map((p) => p.pid)).toContain(kept);
    expect(report.reaped!.map((o) => o.pid)).not.toContain(kept);
    expect(report.cgroup?.path).toBeDefined();
    // …and the cgroup kill after reaping spares it (found by review: it took it, the gate judging the table as it is now).
    await waitFor(async () => !(await isAlive(kept)), 1000);
    expect(await isAlive(kept)).toBe(true);
  });
});

describe.skipIf('why' in where || !root)('run --reap: a kept launcher whose scrubbed daemon is born after the verdict', () => {
  it('the daemon a kept launcher starts while the run reaps (the launcher then exits) survives the cgroup kill', async () => {
    const h = newHome(homes);
    const daemonPidFile = join(h.home, 'daemon.pid');
    // Kept at the verdict; 1.5 s later, while the run waits out the grace of a leak that ignores
    // SIGTERM, it starts a daemon with a scrubbed environment and exits. (Found by review: the
    // cgroup kill took the daemon, connected to nothing it spared.)
    const script = [
      `RESOURCE_TRACKER_KEEP=1 bash -c 'sleep 1.5; env -i sleep 1201 >/dev/null 2>&1 & echo $! > ${daemonPidFile}' >/dev/null 2>&1 &`,
      `bash -c 'trap "" TERM; while :; do sleep 0.2; done' >/dev/null 2>&1 &`,
      'sleep 0.3',
    ].join('\n');
    const { report, pid: daemon } = await reapingRun(h, script, daemonPidFile, ['--grace', '3s']);
    expect(report.kept.length).toBeGreaterThan(0); // the launcher
    expect(report.cgroup?.path).toBeDefined();
    expect(report.reaped!.find((o) => o.command.startsWith('bash -c trap'))?.result).toBe('killed'); // the leak
    expect(report.reaped!.map((o) => o.pid)).not.toContain(daemon);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await isAlive(daemon)).toBe(true);
  });
});

describe('run --reap: kept by a keep pattern through the lineage', () => {
  it('a scrubbed child of a launcher a keep pattern keeps, which has exited, is kept (not reaped)', async () => {
    const h = newHome(homes);
    const dir = tempDir('kept-pattern');
    const keptPidFile = join(dir, 'kept.pid');
    const script = [
      // (`; :` after the sleep: bash would otherwise exec its last command, and the launcher be `sleep 0.7`, which no pattern keeps)
      `bash -c 'env -i sleep 1013 >/dev/null 2>&1 & echo $! > ${keptPidFile}; sleep 0.7; :' launcher-kept >/dev/null 2>&1 &`,
      'sleep 1014 >/dev/null 2>&1 &',
      'sleep 1.5',
    ].join('\n');
    const { report, pid: kept } = await reapingRun(h, script, keptPidFile, ['--keep', 'launcher-kept$', '--grace', '300ms']);
    expect(report.kept.map((p) => p.pid)).toContain(kept);
    expect(report.reaped!.map((o) => o.pid)).not.toContain(kept);
    expect(report.reaped!.some((o) => o.command.startsWith('sleep 1014'))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await isAlive(kept)).toBe(true);
  });
});

describe('K2: a process kept through the lineage of a session the follower followed', () => {
  /**
   * A stand-in Claude Code (`claude` on its command line): its SessionStart hook, then a Bash-tool
   * command that runs a kept launcher, which starts a daemon with a scrubbed environment and exits;
   * and a scrubbed leak of its own. Resolves when the agent has exited.
   */
  async function keptLauncherSession(h: Home, lingerMs: number): Promise<{ session: string; kept: number; leak: number }> {
    const config = followerConfig(h, true, lingerMs);
    const session = `keep-${Date.now().toString(16)}`;
    const agent = join(h.home, 'agent.sh');
    const keptPidFile = join(h.home, 'kept.pid');
    const leakPidFile = join(h.home, 'leak.pid');
    writeFileSync(agent, [
      `export CLAUDE_CODE_SESSION_ID=${session} CLAUDE_PID=$$ CLAUDECODE=1`,
      `echo '{"session_id":"${session}","cwd":"${h.home}","hook_event_name":"SessionStart","source":"startup"}' | sh -c "$HOOK"`,
      `RESOURCE_TRACKER_KEEP=1 bash -c 'env -i sleep 1005 >/dev/null 2>&1 & echo $! > ${keptPidFile}; sleep 2.5' >/dev/null 2>&1`,
      `env -i sleep 1006 >/dev/null 2>&1 & echo $! > ${leakPidFile}`,
      'sleep 1',
    ].join('\n'));
    const child = jar.spawn('bash', ['-c', `exec -a claude bash ${agent}`], { env: { ...h.env, HOOK: hookCommand('start', config) }, cwd: h.home, stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const kept = Number(readFileSync(keptPidFile, 'utf8'));
    const leak = Number(readFileSync(leakPidFile, 'utf8'));
    await jar.adopt(kept);
    await jar.adopt(leak);
    return { session, kept, leak };
  }

  it('the follower with sessions.reap journals and reaps the session\'s own leak, not the kept one', async () => {
    const h = newHome(homes);
    const { session, kept, leak } = await keptLauncherSession(h, 500);
    expect(await waitFor(() => readJournal(h.state).entries.some((e) => e.sessionId === session && e.reaped !== undefined), 15_000, 100)).toBe(true);
    const entry = readJournal(h.state).entries.find((e) => e.sessionId === session)!;
    // What rtrack run keeps (a child of a kept process, its environment scrubbed) is kept here too.
    expect(entry.leaked.map((l) => l.pid)).toEqual([leak]);
    expect(entry.reaped!.map((o) => [o.pid, o.result])).toEqual([[leak, 'terminated']]);
    expect(await isAlive(kept)).toBe(true);
  });

  it('scan --reap, before the follower closed the session, reaps the session\'s own leak by its lineage, not the kept one', async () => {
    const h = newHome(homes);
    const { kept, leak } = await keptLauncherSession(h, 60_000);
    const scan = JSON.parse((await runCli(['scan', '--reap', '--json', '--grace', '300'], { env: h.env })).stdout) as { certain: { processes: { pid: number }[] }[] };
    const certain = scan.certain.flatMap((g) => g.processes.map((p) => p.pid));
    expect(certain).toContain(leak);
    expect(certain).not.toContain(kept);
    expect(await waitFor(async () => !(await isAlive(leak)), 5000)).toBe(true);
    expect(await isAlive(kept)).toBe(true);
  });
});

describe('a session its agent left with /clear, resumed by another agent', () => {
  it("what the first agent's tree held for it is not reaped with the session /clear started, while the resumed one goes on", async () => {
    const h = newHome(homes);
    const config = followerConfig(h, true, 500);
    const s1 = `first-${Date.now().toString(16)}`;
    const s2 = `second-${Date.now().toString(16)}`;
    const [earlierFile, laterFile, goFile] = ['earlier.pid', 'later.pid', 'go'].map((f) => join(h.home, f)) as [string, string, string];
    const hook = (event: 'start' | 'end', json: string): string => `echo '${json}' | sh -c ${JSON.stringify(hookCommand(event, config))}`;
    // Agent A: session s1, a scrubbed daemon (known by lineage only); /clear (SessionEnd clear, SessionStart clear, s2); another one; then exits when told.
    writeFileSync(join(h.home, 'a.sh'), [
      hook('start', `{"session_id":"${s1}","cwd":"${h.home}","hook_event_name":"SessionStart","source":"startup"}`),
      `env -i sleep 1011 >/dev/null 2>&1 & echo $! > ${earlierFile}`,
      'sleep 2.5', // the follower records it in the tree
      hook('end', `{"session_id":"${s1}","hook_event_name":"SessionEnd","reason":"clear"}`),
      hook('start', `{"session_id":"${s2}","cwd":"${h.home}","hook_event_name":"SessionStart","source":"clear"}`),
      `env -i sleep 1012 >/dev/null 2>&1 & echo $! > ${laterFile}`,
      `while [ ! -e ${goFile} ]; do sleep 0.1; done`,
    ].join('\n'));
    // Agent B: resumes s1 and goes on.
    writeFileSync(join(h.home, 'b.sh'), [hook('start', `{"session_id":"${s1}","cwd":"${h.home}","hook_event_name":"SessionStart","source":"resume"}`), 'sleep 300'].join('\n'));
    const a = jar.spawn('bash', ['-c', `exec -a claude bash ${join(h.home, 'a.sh')}`], { env: h.env, cwd: h.home, stdio: 'ignore' });
    expect(await waitFor(() => existsSync(laterFile) && readFileSync(laterFile, 'utf8').trim() !== '', 15_000)).toBe(true);
    const earlier = Number(readFileSync(earlierFile, 'utf8'));
    const later = Number(readFileSync(laterFile, 'utf8'));
    await jar.adopt(earlier);
    await jar.adopt(later);
    const b = jar.spawn('bash', ['-c', `exec -a claude bash ${join(h.home, 'b.sh')}`], { env: h.env, cwd: h.home, stdio: 'ignore' });
    await waitFor(() => readFileSync(`/proc/${b.pid}/cmdline`, 'latin1').startsWith('claude'));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // B's SessionStart registered s1 again
    await jar.adoptTree(b.pid!); // its `sleep 300` too
    writeFileSync(goFile, '');
    await new Promise((resolve) => a.once('exit', resolve));
    // s2 ends with A: its own leak is journalled and reaped; s1's, left by A, is not — s1 goes on in B.
    expect(await waitFor(() => readJournal(h.state).entries.some((e) => e.sessionId === s2 && e.reaped !== undefined), 15_000, 100)).toBe(true);
    const entry = readJournal(h.state).entries.find((e) => e.sessionId === s2)!;
    expect(entry.leaked.map((l) => l.pid)).toEqual([later]);
    expect(await isAlive(earlier)).toBe(true);
    const scan = JSON.parse((await runCli(['scan', '--reap', '--json', '--grace', '300'], { env: h.env })).stdout) as { certain: { processes: { pid: number }[] }[] };
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(earlier);
    expect(await isAlive(earlier)).toBe(true);
  });
});

describe('X: a process that execs between the gate\'s look and the signal', () => {
  it('a leak that becomes a live agent (exec claude) right after the gate looked is not signalled', async () => {
    const h = newHome(homes);
    const go = join(h.home, 'go');
    // A leaked shell that, when told, becomes `claude` (a person's `exec claude` in a shell the session left).
    const child = jar.spawn('bash', ['-c', `while [ ! -e ${go} ]; do sleep 0.01; done; exec -a claude sleep 300`]);
    const pid = child.pid!;
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('bash'));
    const real = createLinuxReader();
    let looks = 0;
    // The real reader; the first whole-table read (the gate's look) is followed by the exec — the
    // race window between the look and the signal, made wide enough to hit every time.
    const reader: PlatformReader = Object.assign(Object.create(real) as PlatformReader, {
      async readProcessTable(options: Parameters<PlatformReader['readProcessTable']>[0]) {
        const table = await real.readProcessTable(options);
        if (looks++ === 0) {
          writeFileSync(go, '');
          await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('claude\0'), 5000, 5);
        }
        return table;
      },
    });
    const snap = await takeSnapshot({ reader: real });
    const target = { ...snap.processes.find((p) => p.pid === pid)!, evidence: ['tag'] } as AttributedProcess;
    const [outcome] = await reapOrphans([target], { reader, graceMs: 300, state: h.state });
    // Now a live agent by its command line: the gate would refuse it (in-use) had it looked at the signal.
    expect(outcome!.signals).toEqual([]);
    expect(outcome!.result).toBe('in-use');
  });
});
