import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectOrphans, memoryGrowth, type ProcessInfo, type ProcessSnapshot } from '../../src/index.js';
import { parseCimJson, parsePsOutput, parseTasklistCsv, parseWmicCsv } from '../../src/parsers.js';
import { parsePsTable } from '../../src/platform/darwin.js';
import { parseCimTable, parseCreationDate, parseTasklistTable, parseWmicTable, splitCsvLine } from '../../src/platform/windows.js';
import { createLinuxReader, parseUnixSockets, executableOf } from '../../src/platform/linux.js';
import { hasAttachedClient, isTerminalMultiplexer } from '../../src/rules/liveness.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
const pids = (ps: ProcessInfo[]): number[] => ps.map((p) => p.pid);

describe('macOS ps parser', () => {
  it('parses a normal list: spaces in paths, padded days, quotes, commas, = and unicode', () => {
    const ps = parsePsOutput(fixture('darwin/ps-normal.txt'));
    expect(pids(ps)).toEqual([1, 101, 412, 413, 500, 501, 777, 778]);
    const chrome = ps.find((p) => p.pid === 412)!;
    expect(chrome).toMatchObject({ ppid: 1, memoryMB: 50, isMCP: true });
    expect(chrome.command).toBe('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome --headless --remote-debugging-port=9222');
    expect(ps.find((p) => p.pid === 413)!.command.endsWith('...')).toBe(true);
    expect(ps.find((p) => p.pid === 500)!.startTime).toBe(new Date(2026, 10, 6, 9, 12, 44).getTime());
    expect(ps.find((p) => p.pid === 501)!.command).toBe(`sh -c echo "a, b" 'x=1' | grep "="`);
    expect(ps.find((p) => p.pid === 777)!.command).toBe('');
    expect(ps.find((p) => p.pid === 778)!.command).toBe('/usr/bin/python3 -c print("héllo wörld ✓ 日本語")');
  });

  it('skips and counts malformed lines, never crashes', () => {
    const table = parsePsTable(fixture('darwin/ps-malformed.txt'));
    expect(table.processes.map((p) => p.pid)).toEqual([1, 202]);
    expect(table.skipped).toBe(4);
  });

  it('reads procps ps output on this Linux machine the same as the /proc reader (live)', async () => {
    // Our own processes, with command lines that a naive column split gets wrong, are compared exactly.
    const args = ['-e', 'setInterval(() => {}, 1000)', 'two  spaces', 'héllo wörld ✓ 日本語', 'q="1, 2"', "'x=1'", ''];
    const own = [jar.spawn(process.execPath, args), jar.spawn(process.execPath, [...args, '--mcp'])].map((c) => c.pid!);
    const linux = createLinuxReader();
    const execed = async (): Promise<boolean> => (await linux.readProcessTable()).processes.filter((p) => own.includes(p.pid) && p.commandLine?.includes('日本語')).length === 2;
    expect(await waitFor(execed)).toBe(true);
    // ps shows non-ASCII text as '?' unless the locale is UTF-8, and control characters always as '?'.
    const env = { ...process.env, LC_ALL: 'C.UTF-8' };
    const text = execFileSync('ps', ['-axww', '-o', 'pid=,ppid=,rss=,lstart=,command='], { encoding: 'utf8', env });
    const fromPs = parsePsTable(text);
    expect(fromPs.skipped).toBe(0);
    const procByPid = new Map((await linux.readProcessTable()).processes.map((p) => [p.pid, p]));
    for (const pid of own) {
      expect(fromPs.processes.find((p) => p.pid === pid)).toMatchObject({ ppid: process.pid, commandLine: procByPid.get(pid)!.commandLine!.trim() });
    }
    // Every other process is compared too, its command only when ps shows it as is (printable ASCII).
    let compared = 0;
    for (const p of fromPs.processes) {
      const q = procByPid.get(p.pid);
      if (!q || q.commandLine === undefined || q.commandLine === '') continue; // gone meanwhile, or a kernel thread ([name])
      if (q.commandLineTruncated) continue; // the table reads 4 KiB of it; ps shows all
      const sameCommand = (a: string, b: string): boolean => !/^[\x20-\x7e]*$/.test(b) || a === b.trim();
      if (p.ppid !== q.ppid || !sameCommand(p.commandLine!, q.commandLine)) {
        // A process may exec or be re-parented between the two readings: read it both ways again.
        const again = parsePsTable(execFileSync('ps', ['-ww', '-o', 'pid=,ppid=,rss=,lstart=,command=', '-p', String(p.pid)], { encoding: 'utf8', env })).processes[0];
        const proc = (await linux.readProcessTable()).processes.find((r) => r.pid === p.pid);
        if (!again || !proc) continue;
        expect(again.ppid).toBe(proc.ppid);
        expect(sameCommand(again.commandLine!, proc.commandLine!)).toBe(true);
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(2);
  });
});

describe('Windows parsers', () => {
  it('CIM JSON from PowerShell 5.1 (/Date(ms)/) and 7 (ISO) give the same processes', () => {
    const ps51 = parseCimJson(fixture('windows/cim-ps51.json'));
    const ps7 = parseCimJson(fixture('windows/cim-ps7.json'));
    expect(ps51).toEqual(ps7);
    expect(pids(ps51)).toEqual([0, 4, 812, 5120, 5200, 6000, 6001]);
    expect(ps51[0]).toMatchObject({ pid: 0, ppid: 0, command: 'System Idle Process', startTime: 0 });
    expect(ps51[1]).toMatchObject({ pid: 4, ppid: 0, command: 'System' });
    const chrome = ps51.find((p) => p.pid === 5200)!;
    const raw = parseCimTable(fixture('windows/cim-ps51.json')).processes.find((p) => p.pid === 5200)!;
    expect(raw.commandLine!.endsWith('--user-data-dir="C:\\Temp\\a,b" --flag="x""y"')).toBe(true);
    expect(chrome.command).toBe(`${raw.commandLine!.slice(0, 100)}...`);
    expect(chrome).toMatchObject({ isMCP: true, memoryMB: 200 });
    expect(ps51.find((p) => p.pid === 6000)!.command).toBe('bärbel.exe --name=日本語');
    expect(ps51.find((p) => p.pid === 6001)!.command).toBe('empty.exe'); // empty command line → name
  });

  it('a single process comes back as an object, not an array', () => {
    expect(pids(parseCimJson(fixture('windows/cim-single.json')))).toEqual([5120]);
  });

  it('CIM: invalid JSON and rows without ids are skipped and counted', () => {
    expect(parseCimTable('{not json').skipped).toBe(1);
    expect(parseCimTable('[{"ProcessId":"x","ParentProcessId":1},{"ProcessId":5,"ParentProcessId":1},7]')).toMatchObject({ skipped: 2, processes: [{ pid: 5 }] });
    expect(parseCimTable('').processes).toEqual([]);
  });

  it('wmic CSV: sorted columns, \\r\\r\\n, unquoted command lines with commas; same records as CIM', () => {
    const table = parseWmicTable(fixture('windows/wmic.csv'));
    expect(table.skipped).toBe(2);
    const wmic = parseWmicCsv(fixture('windows/wmic.csv'));
    expect(wmic).toEqual(parseCimJson(fixture('windows/cim-ps7.json')));
  });

  it('tasklist CSV: quoted fields, doubled quotes, commas, "1,234 K" memory in any locale; no parents', () => {
    const table = parseTasklistTable(fixture('windows/tasklist.csv'));
    expect(table.skipped).toBe(2);
    const list = parseTasklistCsv(fixture('windows/tasklist.csv'));
    expect(list.map((p) => [p.pid, p.command, p.memoryMB * 1024, p.ppid])).toEqual([
      [0, 'System Idle Process', 8, -1],
      [4, 'System', 144, -1],
      [5200, 'chrome.exe', 204800, -1],
      [6002, 'my "quoted", app.exe', 1234, -1],
      [6000, 'bärbel.exe', 4000, -1],
    ]);
  });

  it('the tasklist fallback never yields orphans', () => {
    const list = parseTasklistCsv(fixture('windows/tasklist.csv'));
    const snap = (processes: ProcessInfo[]): ProcessSnapshot => ({ timestamp: new Date(), processes, totalMemoryMB: 0, processCount: processes.length });
    expect(detectOrphans(snap([]), snap(list))).toEqual([]);
  });

  it.each([
    ['/Date(1732612364123)/', 1732612364123],
    ['2026-11-26T09:12:44.5+01:00', Date.UTC(2026, 10, 26, 8, 12, 44, 500)],
    ['20261126091244.500000+060', Date.UTC(2026, 10, 26, 8, 12, 44, 500)],
    ['20261126091244.000000-300', Date.UTC(2026, 10, 26, 14, 12, 44)],
  ])('CreationDate %s', (text, expected) => {
    expect(parseCreationDate(text)).toBe(expected);
  });

  it('splitCsvLine handles empty fields, quotes and trailing commas', () => {
    expect(splitCsvLine('a,,"b,c","d""e",')).toEqual(['a', '', 'b,c', 'd"e', '']);
    expect(splitCsvLine('"unterminated')).toEqual(['unterminated']);
  });
});

describe('the same scenario on every platform', () => {
  const snap = (processes: ProcessInfo[]): ProcessSnapshot => ({
    timestamp: new Date(),
    processes,
    totalMemoryMB: processes.reduce((s, p) => s + p.memoryMB, 0),
    processCount: processes.length,
  });
  const scenarios = {
    macOS: [parsePsOutput(fixture('scenario/before.ps.txt')), parsePsOutput(fixture('scenario/after.ps.txt'))],
    'Windows (CIM)': [parseCimJson(fixture('scenario/before.cim.json')), parseCimJson(fixture('scenario/after.cim.json'))],
    'Windows (wmic)': [parseWmicCsv(fixture('scenario/before.wmic.csv')), parseWmicCsv(fixture('scenario/after.wmic.csv'))],
  };
  it.each(Object.entries(scenarios))('%s: orphans are the leaked browser and the MCP server whose parent pid was reused', (_name, [before, after]) => {
    const b = snap(before!);
    const a = snap(after!);
    expect(pids(detectOrphans(b, a)).sort()).toEqual([300, 500]);
    expect(b.totalMemoryMB).toBeCloseTo(114, 6);
    expect(memoryGrowth(b, a)).toBeCloseTo(a.totalMemoryMB - b.totalMemoryMB, 6);
    expect(a.totalMemoryMB).toBeCloseTo(374, 6);
  });
});

describe('Linux /proc/net/unix', () => {
  it('each socket by inode: its path (spaces kept; none for a client end) and whether it is connected', () => {
    // Recorded with a tmux server (-S) and one attached client; a path with a space and an abstract socket added.
    const text = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '00000000f882c98d: 00000002 00000000 00010000 0001 01 6508028 /tmp/tmx/s',
      '00000000b90a33ed: 00000003 00000000 00000000 0001 03 6508129 /tmp/tmx/s',
      '000000001c2d3e4f: 00000003 00000000 00000000 0001 03 6508130',
      '000000002d3e4f50: 00000002 00000000 00010000 0001 01 77 /run/user/0/my socket',
      '000000003e4f5061: 00000002 00000000 00000000 0002 01 78 @abstract',
      '',
    ].join('\n');
    const sockets = parseUnixSockets(text);
    expect([...sockets]).toEqual([
      [6508028, { path: '/tmp/tmx/s', connected: false }],
      [6508129, { path: '/tmp/tmx/s', connected: true }],
      [6508130, { path: '', connected: true }],
      [77, { path: '/run/user/0/my socket', connected: false }],
      [78, { path: '@abstract', connected: false }],
    ]);
    expect(hasAttachedClient([sockets.get(6508028)!])).toBe(false); // listening only
    expect(hasAttachedClient([sockets.get(6508028)!, sockets.get(6508130)!])).toBe(false); // a client's own end
    expect(hasAttachedClient([sockets.get(6508028)!, sockets.get(6508129)!])).toBe(true); // an accepted connection
  });

  it('tmux is told by its command, wherever it was run from', () => {
    const p = (commandLine: string): ProcessInfo => ({ pid: 2, ppid: 1, command: commandLine, commandLine, memoryMB: 0, isMCP: false, startTime: 0 });
    expect(isTerminalMultiplexer(p('tmux new-session -d -s work'))).toBe(true);
    expect(isTerminalMultiplexer(p('/usr/bin/tmux -S /tmp/s attach'))).toBe(true);
    expect(isTerminalMultiplexer(p('bash -c tmux'))).toBe(false);
    expect(isTerminalMultiplexer(p('tmuxinator start'))).toBe(false);
  });
});

describe('the file a process runs, from its name and argv[0] (executableOf)', () => {
  it.each([
    ['node server.js', 'node', 'node'],
    ['/usr/lib/chromium/chromium --type=zygote', 'chromium', 'chromium'],
    ['/usr/bin/python3 -m http.server', 'python3', 'python3'],
    ['claude', 'sleep', undefined], // exec -a claude sleep: the link is read
    ['tmux new-session -d', 'tmux: server', undefined],
    ['mydaemon', 'perl', undefined], // perl's $0
    ['/opt/app/a-very-long-program-name --x', 'a-very-long-pro', 'a-very-long-program-name'],
    ['', 'kworker/0:1', undefined],
    ['nodes', 'node', undefined],
  ])('%s (name %s)', (commandLine, name, expected) => {
    expect(executableOf(commandLine, name)).toBe(expected);
  });
});
