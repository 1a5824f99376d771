// Attribution on real processes: subreapers, bystanders, scrubbed environments, scan.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectOrphans, takeSnapshot, type ScanReport } from '../../src/index.js';
import { formatTaskTag } from '../../src/tracking/task-tag.js';
import { createLinuxReader } from '../../src/platform/linux.js';
import { pidsIn, RTRACK, runCli, startCli } from '../helpers/cli.js';
import { reportFiles } from '../helpers/reports.js';
import { isAlive, ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const { reportPath, readReport } = reportFiles('attr');

// Makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER = 36), runs its arguments, says
// "done", and stays alive (adopting orphans) until its stdin closes.
const SUBREAPER = `import ctypes, subprocess, sys
assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0
code = subprocess.run(sys.argv[1:]).returncode
print("done", code, flush=True)
sys.stdin.read()`;

describe('attribution on real processes', () => {
  it('a leak under a subreaper: an orphan with tag evidence, which the seed rule alone misses', async () => {
    const before = await takeSnapshot();
    const report = reportPath();
    const helper = jar.spawn('python3', ['-c', SUBREAPER, process.execPath, RTRACK, 'run', '--report', report, '--', 'bash', '-c', 'sleep 320 >/dev/null 2>&1 & echo $!'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    helper.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('done'), 20_000)).toBe(true);
    const [sleeper] = pidsIn(out);
    await jar.adopt(sleeper!);
    const after = await takeSnapshot();
    const orphan = readReport(report).orphans.find((p) => p.pid === sleeper);
    expect(orphan).toBeDefined();
    expect(orphan!.evidence).toContain('tag');
    expect(orphan!.ppid).toBe(helper.pid); // re-parented to the subreaper, which is alive
    // The seed's rule on the same machine: the sleeper's parent is alive and is not PID 1.
    expect(after.processes.find((p) => p.pid === sleeper)!.ppid).toBe(helper.pid);
    expect(detectOrphans(before, after).some((p) => p.pid === sleeper)).toBe(false);
    helper.stdin!.end();
  });

  it('a bystander orphaned while the task runs is not the task\'s orphan (it may be a suspect)', async () => {
    const report = reportPath();
    const run = startCli(['run', '--report', report, '--', 'bash', '-c', 'sleep 321 >/dev/null 2>&1 & echo $!; echo started; sleep 1.5']);
    await run.waitForStdout('started');
    const [bystander] = await jar.orphan('sleep 322 >/dev/null 2>&1 & echo $!');
    const r = await run.result;
    const [leak] = pidsIn(r.stdout);
    await jar.adopt(leak!);
    const json = readReport(report);
    expect(json.orphans.map((p) => p.pid)).toEqual([leak]);
    expect(json.orphans.some((p) => p.pid === bystander)).toBe(false);
    expect(json.suspects.find((p) => p.pid === bystander)?.evidence).toEqual(['heuristic']);
    // (anything else orphaned on the machine meanwhile is a suspect too: count only what is ours)
    expect(r.stderr).toMatch(new RegExp(`not attributed to the task \\(suspects\\) count=\\d+ processes="[^"]*sleep 322 \\(PID=${bystander}\\)`));
  });

  it('a child that scrubs its environment (env -i) is found through the lineage', async () => {
    const report = reportPath();
    // (no cgroup here: with one, the group would say it too — this is about the lineage alone)
    const r = await runCli(['run', '--cgroup', 'off', '--report', report, '--', 'bash', '-c', 'env -i sleep 323 >/dev/null 2>&1 & echo $!; sleep 0.8']);
    const [scrubbed] = pidsIn(r.stdout);
    await jar.adopt(scrubbed!);
    const orphan = readReport(report).orphans.find((p) => p.pid === scrubbed);
    expect(orphan?.evidence).toEqual(['lineage', 'heuristic']);
    expect(orphan?.taskTag).toBeUndefined();
  });

  it('a child that exits cleanly is not reported', async () => {
    const report = reportPath();
    const r = await runCli(['run', '--report', report, '--', 'bash', '-c', 'sleep 0.3 & wait; echo clean']);
    expect(r.stdout).toContain('clean');
    const json = readReport(report);
    expect(json.orphans).toEqual([]);
    expect(r.stderr).not.toContain('orphaned processes detected');
  });

  it('library: taskEnv() and followTask() attribute a leak of a task the caller spawns itself', async () => {
    const { ResourceTracker, silentLogger } = await import('../../src/index.js');
    const { spawn } = await import('node:child_process');
    const tracker = new ResourceTracker({ lineageIntervalMs: 50 }, silentLogger);
    await tracker.snapshotBefore();
    // The task waits for its stdin to close: followed by pid while it surely runs (a task that exits
    // at once may be gone before followTask looks, under load).
    const child = spawn('bash', ['-c', 'sleep 324 >/dev/null 2>&1 & echo $!; read _'], { env: tracker.taskEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await jar.adopt(child.pid!);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => pidsIn(out).length > 0)).toBe(true);
    const [leak] = pidsIn(out);
    await jar.adopt(leak!);
    await tracker.followTask(child.pid!);
    child.stdin.end();
    await exited;
    await tracker.snapshotAfter();
    const orphans = tracker.detectOrphans();
    expect(orphans.map((p) => p.pid)).toEqual([leak]);
    expect((await tracker.analyze()).orphans[0]!.evidence).toContain('tag');
    expect(orphans[0]!.taskTag).toBe(tracker.tag);
  });
});

describe('two runs at the same time (an orchestrator running tasks in parallel)', () => {
  it('each run\'s leak is its own orphan, the other\'s is at most a suspect, and --reap never touches the other\'s', async () => {
    // Each task leaks a sleeper at once, then works on, so that the runs overlap; B works longer, so
    // that it is still running when A has reaped (with the same work, B could end and reap its own
    // leak in the ~0.1 s its later start gave it: seen once under load).
    const task = (seconds: number, work: number): string[] => ['bash', '-c', `sleep ${seconds} >/dev/null 2>&1 & echo $!; sleep ${work}`];
    const [reportA, reportB] = [reportPath(), reportPath()];
    const runA = startCli(['run', '--reap', '--grace', '300', '--report', reportA, '--', ...task(341, 2)]);
    const leakA = pidsIn(await runA.waitForStdout(/\d+/))[0]!;
    await jar.adopt(leakA);
    const runB = startCli(['run', '--reap', '--grace', '300', '--report', reportB, '--', ...task(342, 4)]);
    const leakB = pidsIn(await runB.waitForStdout(/\d+/))[0]!;
    await jar.adopt(leakB);

    expect((await runA.result).code).toBe(0);
    expect(runB.child.exitCode).toBeNull(); // B still runs…
    expect(await isAlive(leakB)).toBe(true); // …and A, done and reaped, left B's leak untouched
    const a = readReport(reportA);
    expect(a.orphans.map((p) => p.pid)).toEqual([leakA]);
    expect(a.reaped!.map((o) => o.pid)).toEqual([leakA]);
    expect(a.orphans.concat(a.kept).map((p) => p.pid)).not.toContain(leakB);

    expect((await runB.result).code).toBe(0);
    const b = readReport(reportB);
    expect(b.orphans.map((p) => p.pid)).toEqual([leakB]);
    expect(b.reaped!.map((o) => o.pid)).toEqual([leakB]);
    expect(await isAlive(leakA)).toBe(false);
    expect(await isAlive(leakB)).toBe(false);
  });
});

describe('rtrack scan on real processes', () => {
  it('finds a tagged process whose owner is gone, and a suspected tree; not the tagged process of a live run', async () => {
    // An owner that existed and is gone: a process we start and kill.
    const reader = createLinuxReader();
    const ownerChild = jar.spawn('sleep', ['60']);
    const owner = (await reader.readStatus(ownerChild.pid!))!;
    ownerChild.kill('SIGKILL');
    await waitFor(async () => (await reader.readStatus(owner.pid))?.alive !== true);
    const goneTag = formatTaskTag(owner, 'dead01');
    const liveTag = formatTaskTag(reader.selfIdentity(), 'a11be0');

    const [certain] = await jar.orphan('sleep 330 >/dev/null 2>&1 & echo $!', { ...process.env, RESOURCE_TRACKER_TASK: goneTag });
    const [live] = await jar.orphan('(exec -a chromium sleep 331) >/dev/null 2>&1 & echo $!', { ...process.env, RESOURCE_TRACKER_TASK: liveTag });
    const [suspectRoot] = await jar.orphan('(exec -a "node fake-mcp-server.js" bash -c "sleep 332 & sleep 333") >/dev/null 2>&1 & echo $!');
    await waitFor(async () => (await jar.adoptTree(suspectRoot!)).length >= 3); // bash and both sleeps
    const suspectTree = await jar.adoptTree(suspectRoot!);
    expect(suspectTree.length).toBe(3);

    const r = await runCli(['scan', '--json']);
    expect(r.code).toBe(0);
    const scan = JSON.parse(r.stdout) as ScanReport;
    const certainGroup = scan.certain.find((g) => g.tag === goneTag);
    expect(certainGroup?.processes.map((p) => p.pid)).toEqual([certain]);
    expect(certainGroup?.owner).toEqual({ pid: owner.pid, startTime: owner.startTime });
    const suspectGroup = scan.suspected.find((g) => g.root.pid === suspectRoot);
    expect(suspectGroup?.processes.map((p) => p.pid).sort()).toEqual([...suspectTree].sort());
    expect(suspectGroup!.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(suspectGroup!.ageSeconds).toBeLessThan(120);
    const everything = [...scan.certain, ...scan.suspected].flatMap((g) => g.processes.map((p) => p.pid));
    expect(everything).not.toContain(live);

    const human = await runCli(['scan']);
    expect(human.stdout).toContain(`tag ${goneTag} (run pid ${owner.pid} gone): 1 process`);
    expect(human.stdout).toMatch(new RegExp(`tree of ${suspectRoot}: \\d+ processes`));
  });

  it.skipIf(process.getuid?.() !== 0)('runs inside another PID namespace (a container): a live one is not a leak, a gone one\'s leftover is certain', async () => {
    // In its namespace the run's pid means another process (or none) out here: the tag names the namespace too.
    const commandOf = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0').join(' ');
    const findIn = async (root: number, command: string): Promise<number | undefined> => (await jar.adoptTree(root)).find((pid) => commandOf(pid) === command);
    // The live run is SIGKILLed when the test ends, which would leave its cgroup behind: no cgroup here.
    const liveRun = jar.spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, RTRACK, 'run', '-q', '--cgroup', 'off', '--', 'sleep', '334']);
    // The namespace's first process (bash, then sleep 336) outlives rtrack, so the leftover stays in it.
    const goneRun = jar.spawn('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', '"$0" "$1" run -q -- bash -c "sleep 335 >/dev/null 2>&1 &"; exec sleep 336', process.execPath, RTRACK]);
    let liveTask: number | undefined;
    let leftover: number | undefined;
    expect(
      await waitFor(async () => {
        liveTask ??= await findIn(liveRun.pid!, 'sleep 334');
        leftover ??= await findIn(goneRun.pid!, 'sleep 335');
        return liveTask !== undefined && leftover !== undefined && (await findIn(goneRun.pid!, 'sleep 336')) !== undefined;
      }),
    ).toBe(true);

    const scan = JSON.parse((await runCli(['scan', '--json'])).stdout) as ScanReport;
    const own = createLinuxReader().readPidNamespace!(process.pid)!.namespace;
    expect(scan.certain.flatMap((g) => g.processes.map((p) => p.pid))).not.toContain(liveTask);
    const group = scan.certain.find((g) => g.processes.some((p) => p.pid === leftover))!;
    expect(group.processes.map((p) => p.pid)).toEqual([leftover]);
    expect(group.owner!.pidNamespace).toMatch(/^\d+$/);
    expect(group.owner!.pidNamespace).not.toBe(own);
    expect(scan.pidNamespace).toBe(own);
    expect((await runCli(['scan'])).stdout).toContain(`of pid namespace ${group.owner!.pidNamespace} over): 1 process`); // a registered run: its owner is gone or ended it
  });
});
