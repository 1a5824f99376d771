// Reaping real processes: results, identity checks, and a randomized safety test.
import { existsSync, readFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { identityKey } from '../../src/rules/identity.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { reapOrphans, takeSnapshot, type AttributedProcess, type ProcessInfo, type ReapOutcome, type ScanReport, type TaskReport } from '../../src/index.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import type { ProcessStatus } from '../../src/platform/types.js';
import { pidsIn, runCli } from '../helpers/cli.js';
import { isAlive, ProcessJar, readIdentity, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const reader = createLinuxReader();
const dir = tempDir('reap');

/** The processes as a verdict gives them: with `tag` evidence (the reaper signals only attributed processes). */
async function infoOf(pids: number[]): Promise<AttributedProcess[]> {
  const snapshot = await takeSnapshot();
  return pids.map((pid) => snapshot.processes.find((p) => p.pid === pid)!).filter(Boolean).map((p) => ({ ...p, evidence: ['tag'] }));
}

/** Starts `bash -c script` and waits until it and its children exist; returns the tree's pids. */
async function startTree(script: string, minSize = 1): Promise<number[]> {
  const child = jar.spawn('bash', ['-c', script]);
  await waitFor(async () => {
    const tree = await jar.adoptTree(child.pid!);
    return tree.length >= minSize;
  }, 5000, 10);
  return jar.adoptTree(child.pid!);
}

const result = (outcomes: ReapOutcome[], pid: number): ReapOutcome => outcomes.find((o) => o.pid === pid)!;

describe('reapOrphans', () => {
  it('terminated on SIGTERM; killed after the grace period when SIGTERM is ignored; gone when already gone', async () => {
    const [polite] = await startTree('exec sleep 350');
    const [stubborn] = await startTree('trap "" TERM; echo ready; while :; do sleep 0.05; done');
    const goneChild = jar.spawn('sleep', ['351']);
    const [gone] = await infoOf([goneChild.pid!]);
    goneChild.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(gone!.pid)));
    const targets = [...(await infoOf([polite!, stubborn!])), gone!];
    const started = Date.now();
    const outcomes = await reapOrphans(targets, { graceMs: 300 });
    expect(result(outcomes, polite!)).toMatchObject({ result: 'terminated', signals: ['SIGTERM'] });
    expect(result(outcomes, stubborn!)).toMatchObject({ result: 'killed', signals: ['SIGTERM', 'SIGKILL'] });
    expect(result(outcomes, gone!.pid)).toMatchObject({ result: 'gone', signals: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await isAlive(polite!)).toBe(false);
    expect(await isAlive(stubborn!)).toBe(false);
  });

  it('a stopped process (Ctrl+Z, SIGSTOP) is woken with SIGCONT after SIGTERM, so it can shut down cleanly', async () => {
    const marker = join(dir, `cleaned-up-${Date.now()}`);
    const [pid] = await startTree(`trap 'echo done > ${marker}; exit 0' TERM; echo > ${marker}.ready; while :; do sleep 0.05; done`);
    expect(await waitFor(() => existsSync(`${marker}.ready`))).toBe(true); // the handler is in place
    process.kill(pid!, 'SIGSTOP');
    expect(await waitFor(() => / T /.test(readFileSync(`/proc/${pid}/stat`, 'latin1').slice(readFileSync(`/proc/${pid}/stat`, 'latin1').lastIndexOf(')'))))).toBe(true);
    const [running] = await startTree('exec sleep 353');
    const outcomes = await reapOrphans(await infoOf([pid!, running!]), { graceMs: 2000 });
    expect(result(outcomes, pid!)).toMatchObject({ result: 'terminated', signals: ['SIGTERM', 'SIGCONT'] });
    expect(result(outcomes, running!)).toMatchObject({ result: 'terminated', signals: ['SIGTERM'] }); // only the stopped one is woken
    expect(readFileSync(marker, 'utf8')).toBe('done\n'); // its handler ran: it was not simply SIGKILLed
  });

  it('identity changed between detection and reaping: no signal is sent', async () => {
    const [pid] = await startTree('exec sleep 352');
    const [info] = await infoOf([pid!]);
    const sent: [number, string][] = [];
    // It lies about the detected process only: the rest of the table (the test's ancestors, whose
    // command lines may be read whole) is told as it is.
    const lie = async (p: number): Promise<ProcessStatus | undefined> => (p === pid ? { pid: p, ppid: 1, startTime: info!.startTime + 1, alive: true } : reader.readStatus(p));
    const lyingReader = { ...reader, readStatus: lie, readStatuses: async (pids: readonly number[]) => new Map(await Promise.all(pids.map(async (p) => [p, (await lie(p)) ?? null] as const))) };
    const outcomes = await reapOrphans([info!], { graceMs: 50, reader: lyingReader, kill: (p, s) => void sent.push([p, s]) });
    expect(outcomes).toEqual([{ pid: pid, command: info!.command, result: 'identity-changed', signals: [] }]);
    expect(sent).toEqual([]);
    expect(await isAlive(pid!)).toBe(true);
  });

  it('refuses pid 1, itself and its ancestors', async () => {
    const snapshot = await takeSnapshot();
    const pick = (pid: number): ProcessInfo => snapshot.processes.find((p) => p.pid === pid)!;
    const sent: number[] = [];
    const outcomes = await reapOrphans([pick(1), pick(process.pid), pick(process.ppid)], { graceMs: 10, kill: (p) => void sent.push(p) });
    expect(outcomes.map((o) => o.result)).toEqual(['refused', 'refused', 'refused']);
    expect(sent).toEqual([]);
  });

  it('signals tree roots first', async () => {
    const tree = await startTree('sleep 353 & sleep 354 & wait', 3);
    const infos = await infoOf(tree);
    const order: number[] = [];
    await reapOrphans([...infos].reverse(), { graceMs: 500, kill: (p, s) => { order.push(p); process.kill(p, s); } });
    expect(order[0]).toBe(tree[0]);
  });

  const rounds = Number(process.env.REAP_ROUNDS ?? 50);
  it(`randomized safety: bystanders always survive, every leaked process is gone (${rounds} rounds)`, async () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n); // the high bits: the low ones of this generator repeat every few calls
    };
    // Each kind with the size of its whole tree: a tree is used only once all of it is recorded, so
    // that the jar can clean up every process of it (a sleeper it never saw would outlive the test).
    const kinds = [
      { script: 'exec sleep 360', size: 1 },
      { script: 'trap "" TERM; while :; do sleep 0.05; done', size: 1 },
      { script: 'sleep 361 & sleep 362 & wait', size: 3 },
      { script: 'trap "" TERM; sleep 363 & wait', size: 2 },
    ];
    for (let round = 0; round < rounds; round++) {
      const bystanders: number[] = [];
      const leaked: number[] = [];
      const roots = new Set<number>();
      for (let i = 0, count = 1 + random(3); i < count; i++) {
        const kind = kinds[random(kinds.length)]!;
        const tree = await startTree(kind.script, kind.size);
        roots.add(tree[0]!);
        bystanders.push(...tree);
      }
      for (let i = 0, count = 1 + random(3); i < count; i++) {
        const kind = kinds[random(kinds.length)]!;
        leaked.push(...(await startTree(kind.script, kind.size)));
      }
      // Only what must survive: each tree's root and its long-lived sleepers. The loop's children end on
      // their own, and one may be caught exiting (no command line left, 0 MB).
      const bystanderIds = (await infoOf(bystanders)).filter((p) => roots.has(p.pid) || /^sleep 36\d$/.test(p.command));
      const leakedIds = await infoOf(leaked);
      const outcomes = await reapOrphans(leakedIds, { graceMs: 40, killWaitMs: 2000 });
      for (const o of outcomes) expect(['terminated', 'killed', 'gone']).toContain(o.result);
      for (const p of leakedIds) {
        const now = await readIdentity(p.pid); // by identity: under churn a pid is soon someone else's
        expect(now !== undefined && identityKey(now) === identityKey(p), `leaked ${p.pid} (${p.command}) round ${round}`).toBe(false);
      }
      for (const b of bystanderIds) {
        const now = await reader.readStatus(b.pid);
        const signalled = outcomes.find((o) => o.pid === b.pid);
        expect(now?.alive && identityKey(now) === identityKey(b), `bystander ${b.pid} (${b.command}) round ${round}: ${JSON.stringify({ now, b, signalled })}`).toBe(true);
      }
      await jar.cleanup();
    }
  }, Math.max(120_000, rounds * 1000));
});

describe('rtrack run --reap / scan --reap', () => {
  it('run --reap with a browser-like tree: nothing of the task survives; the report lists each result', async () => {
    const report = join(dir, 'run-reap.json');
    const script = [
      '(exec -a "mcp-server-playwright" bash -c \'(trap "" TERM; exec -a "chromium --headless" sleep 370) & (exec -a "chromium --type=renderer" sleep 371) & wait\') >/dev/null 2>&1 &',
      'sleep 0.4; echo done',
    ].join('\n');
    const r = await runCli(['run', '--reap', '--grace', '300', '--report', report, '--', 'bash', '-c', script]);
    const json = JSON.parse(readFileSync(report, 'utf8')) as TaskReport;
    for (const p of json.orphans) await jar.adopt(p.pid);
    expect(r.code).toBe(0);
    expect(json.orphans.length).toBe(3);
    expect(json.reaped!.map((x) => x.pid).sort()).toEqual(json.orphans.map((p) => p.pid).sort());
    const byCommand = Object.fromEntries(json.reaped!.map((x) => [x.command.split(' ')[0] + (x.command.includes('renderer') ? '-renderer' : ''), x.result]));
    expect(byCommand).toEqual({ 'mcp-server-playwright': 'terminated', chromium: 'killed', 'chromium-renderer': 'terminated' });
    for (const p of json.orphans) expect(await isAlive(p.pid)).toBe(false);
    expect(r.stderr).toContain('rtrack: reaped:');
  });

  it('run --reap --dry-run prints the plan and signals nothing; --grace takes a duration (a bare number is milliseconds)', async () => {
    for (const [grace, shown] of [['1s', '1s'], ['3000', '3s'], ['250ms', '250ms']]) {
      const r = await runCli(['run', '--reap', '--dry-run', '--grace', grace!, '--', 'bash', '-c', 'sleep 372 >/dev/null 2>&1 & echo $!']);
      const [pid] = pidsIn(r.stdout);
      await jar.adopt(pid!);
      expect(r.stderr).toContain(`dry run — would send SIGTERM to 1 process in this order, then SIGKILL to survivors after ${shown}:`);
      expect(await isAlive(pid!)).toBe(true);
    }
  });

  it('scan --reap reaps certain leaks; a suspect is signalled only with --match and --yes', async () => {
    const ownerChild = jar.spawn('sleep', ['60']);
    const owner = (await reader.readStatus(ownerChild.pid!))!;
    ownerChild.kill('SIGKILL');
    await waitFor(async () => (await reader.readStatus(owner.pid))?.alive !== true);
    const [certain] = await jar.orphan('sleep 373 >/dev/null 2>&1 & echo $!', { ...process.env, RESOURCE_TRACKER_TASK: formatTaskTag(owner, 'dead02') });
    const [suspect] = await jar.orphan('(exec -a "node fake-mcp-server-reap.js" sleep 374) >/dev/null 2>&1 & echo $!');

    const noYes = await runCli(['scan', '--reap', '--match', 'fake-mcp-server-reap', '--grace', '200']);
    expect(noYes.code).toBe(1);
    expect(noYes.stdout).toContain('nothing was signalled');
    expect(await isAlive(certain!)).toBe(true);
    expect(await isAlive(suspect!)).toBe(true);

    // --json carries the totals and, in a dry run, what a person sees of each process in the plan.
    const dry = JSON.parse((await runCli(['scan', '--reap', '--dry-run', '--json'])).stdout) as ScanReport & { plan: Record<string, unknown>[] };
    const certainGroups = dry.certain;
    expect(dry.leakTotals!.certain).toMatchObject({ groups: certainGroups.length, processes: certainGroups.reduce((n, g) => n + g.processes.length, 0) });
    expect(dry.leakTotals!.certain.pssBytes).toBeGreaterThan(0);
    expect(dry.leakTotals!.certain.rssBytes).toBeGreaterThanOrEqual(dry.leakTotals!.certain.pssBytes);
    expect(dry.leakTotals!.suspected.groups).toBe(dry.suspected.length);
    const planned = dry.plan.find((p) => p.pid === certain);
    expect(planned).toMatchObject({ command: 'sleep 373', evidence: ['tag'], kind: 'certain', group: { root: certain, tag: formatTaskTag(owner, 'dead02') } });
    expect(planned?.memoryMB).toBeGreaterThan(0);
    expect(planned?.pssBytes).toBeGreaterThan(0);

    const certainOnly = await runCli(['scan', '--reap', '--grace', '200ms', '--json']);
    expect(certainOnly.code).toBe(0);
    const reaped = (JSON.parse(certainOnly.stdout) as { reaped: ReapOutcome[] }).reaped;
    expect(reaped.find((o) => o.pid === certain)?.result).toBe('terminated');
    expect(reaped.some((o) => o.pid === suspect)).toBe(false);
    expect(await isAlive(suspect!)).toBe(true);

    const named = await runCli(['scan', '--reap', '--match', 'fake-mcp-server-reap', '--yes', '--grace', '200']);
    expect(named.code).toBe(0);
    expect(await isAlive(suspect!)).toBe(false);
  });
});
