import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectOrphans, memoryGrowth, type ProcessInfo, type ProcessSnapshot } from '../../src/index.js';
import { parseCimJson, parsePsOutput, parseTasklistCsv, parseWmicCsv } from '../../src/parsers.js';
import { parsePsTable } from '../../src/platform/darwin.js';
import { parseCimTable, parseCreationDate, parseTasklistTable, parseWmicTable, splitCsvLine } from '../../src/platform/windows.js';
import { createLinuxReader, parseMountTypes, parseUnixPeers, parseUnixSockets, executableOf } from '../../src/platform/linux.js';
import { hasAttachedClient, isTerminalMultiplexer } from '../../src/rules/liveness.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { requireOrSkip } from '../helpers/debian-tools.js';

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

describe('Linux Unix socket peers (`ss -xn`) and mounts', () => {
  it('each connected stream or seqpacket socket: its peer, and whether it carries a name; every reading of a name with blanks or a newline counts', () => {
    // Recorded (iproute2 6.1) with a listener on a path holding spaces and digits and one client, a
    // seqpacket and a stream socket pair, and an abstract listener whose name holds a newline and a
    // made-up line; a dgram pair, a listening and an unconnected socket added from `ss -xan`.
    const text = [
      'Netid State Recv-Q Send-Q               Local Address:Port     Peer Address:Port    Process',
      'u_str ESTAB 0      0      @ab',
      'u_str ESTAB 0 0 * 5 * 6 12569855            * 12569854       ',
      'u_str ESTAB 0      0         /tmp/f8 sp 12 dir/s 99 x 12569848            * 12569847       ',
      'u_str ESTAB 0      0                                * 12569847            * 12569848       ',
      'u_seq ESTAB 0      0                                * 12569850            * 12569849       ',
      'u_seq ESTAB 0      0                                * 12569849            * 12569850       ',
      'u_str ESTAB 0      0                                * 12569854            * 12569855       ',
      'u_dgr ESTAB 0      0                                * 7001                * 7002           ',
      'u_str LISTEN 0     4096           /run/dbus/system_bus_socket 1450              * 0          ',
      'u_dgr UNCONN 0     0                                * 7003                * 0              ',
      '',
    ].join('\n');
    const peers = parseUnixPeers(text);
    expect(peers.get(12569848)).toEqual({ peers: [12569847], named: true }); // the accepted end: the listener's path
    expect(peers.get(12569847)).toEqual({ peers: [12569848], named: false }); // its client
    expect(peers.get(12569849)).toEqual({ peers: [12569850], named: false });
    expect(peers.get(12569850)).toEqual({ peers: [12569849], named: false });
    expect(peers.get(12569854)).toEqual({ peers: [12569855], named: false });
    // The named end whose name held a newline: read every way its line splits, the true one among them.
    expect(peers.get(12569855)).toEqual({ peers: [12569854], named: true });
    expect(peers.get(5)?.peers).toEqual([12569854]);
    for (const inode of [7001, 7003, 1450]) expect(peers.has(inode)).toBe(false); // dgram, listening, unconnected
    expect(peers.get(99)?.peers).toEqual([12569847]); // the digits in a path are a reading too: more joins, never fewer
  });

  it('a socket read two ways has both peers, and is named only when every reading says so', () => {
    const peers = parseUnixPeers(['u_str ESTAB 0 0 * 10 * 11', 'u_str ESTAB 0 0 /a 10 * 12', 'u_str ESTAB 0 0 /b 20 * 21'].join('\n'));
    expect(peers.get(10)).toEqual({ peers: [11, 12], named: false });
    expect(peers.get(20)).toEqual({ peers: [21], named: true });
  });

  it('mountinfo: each mount id with its filesystem type, whatever its escaped mount point holds', () => {
    const text = [
      '22 27 0:21 / /proc rw,relatime - proc proc rw',
      '27 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
      '88 27 0:45 / /mnt/my\\040share rw,relatime shared:40 - nfs4 server:/export rw,vers=4.2',
      '90 27 0:47 / /home/u/sshfs rw,nosuid,nodev,relatime shared:42 master:7 - fuse.sshfs u@h:/ rw,user_id=0',
      '',
    ].join('\n');
    expect([...parseMountTypes(text)]).toEqual([[22, 'proc'], [27, 'ext4'], [88, 'nfs4'], [90, 'fuse.sshfs']]);
  });
});

describe('Linux channel ends (readPipes, readSocketPeers) on real processes', () => {
  it('a pseudo-terminal: its host holds the master (by fdinfo tty-index), what runs in it the same index', async () => {
    if (!requireOrSkip('script', 'bsdutils')) return;
    const host = jar.spawn('script', ['-qfc', 'exec sleep 30', '/dev/null'], { stdio: 'ignore' }); // exec: whichever shell $SHELL names (none: sh), its child is sleep
    const linux = createLinuxReader();
    let child: number | undefined;
    expect(await waitFor(() => {
      child = linux.readPipes!([host.pid!]).size > 0 ? Number(readFileSync(`/proc/${host.pid}/task/${host.pid}/children`, 'utf8').trim().split(' ')[0]) : undefined;
      return child !== undefined && child > 0 && readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'sleep';
    })).toBe(true);
    await jar.adopt(child!);
    const ends = linux.readPipes!([host.pid!, child!]);
    const master = ends.get(host.pid!)!.find((e) => 'pty' in e && e.end === 'w');
    expect(master).toBeDefined();
    expect(ends.get(child!)!.filter((e) => 'pty' in e)).toContainEqual({ pty: (master as { pty: number }).pty, end: 'r' });
  });

  it('a named FIFO by device and inode (its path removed), a socket pair to its other end', async () => {
    const dir = tempDir('fifo');
    const fifo = join(dir, 'f');
    execFileSync('mkfifo', [fifo]);
    const reader = jar.spawn('sh', ['-c', `exec sleep 30 < ${fifo}`]);
    const writer = jar.spawn('sh', ['-c', `exec sleep 30 > ${fifo}`]);
    const paired = jar.spawn('sleep', ['30'], { stdio: ['pipe', 'pipe', 'ignore'] }); // node: socket pairs
    const linux = createLinuxReader();
    const sleeping = (pid: number): boolean => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
    expect(await waitFor(() => [reader.pid!, writer.pid!, paired.pid!].every(sleeping))).toBe(true);
    rmSync(fifo);
    const ends = linux.readPipes!([reader.pid!, writer.pid!, paired.pid!, process.pid]);
    const [r] = ends.get(reader.pid!)!.filter((e) => 'dev' in e);
    const [w] = ends.get(writer.pid!)!.filter((e) => 'dev' in e);
    expect(r).toMatchObject({ end: 'r' });
    expect(w).toMatchObject({ end: 'w' });
    expect(r && w && 'inode' in r && 'inode' in w && r.inode === w.inode && r.dev === w.dev).toBe(true);
    const childSockets = ends.get(paired.pid!)!.flatMap((e) => ('socket' in e ? [e.socket] : []));
    expect(childSockets).toHaveLength(2);
    if (!requireOrSkip('ss', 'iproute2')) return;
    const peers = linux.readSocketPeers!();
    expect(peers).toBeDefined();
    if (!peers) return;
    const mine = new Set(ends.get(process.pid)!.flatMap((e) => ('socket' in e ? [e.socket] : [])));
    for (const s of childSockets) expect(peers.get(s)?.peers.some((p) => mine.has(p))).toBe(true);
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
