// What people read: counts, memory labels, and lines that fit a terminal; the `--match` pattern a
// person is told to type, and the option values they type.
import { spawnSync } from 'node:child_process';
import cliTruncate from 'cli-truncate';
import fc from 'fast-check';
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseCount, parseDuration, parseGrace } from '../../src/cli/common.js';
import { counted, memoryText, renderNothingToReap, renderRunSummary, renderScan, type Layout } from '../../src/cli/present.js';
import type { ScanReport, TaskReport } from '../../src/index.js';
import { analyzeMachine } from '../../src/rules/machine-leaks.js';
import { fullCommand, matchPatternFor } from '../../src/rules/patterns.js';
import { parseTaskTag } from '../../src/tracking/task-tag.js';
import { shellQuote } from '../../src/text.js';
import type { AttributedProcess } from '../../src/types.js';
import { proc, snap } from '../helpers/snapshots.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 200) };
if (process.env.CI) fc.configureGlobal({ seed: 20261129 });

/** The layout terminal-layout.ts makes, at a given width. */
const layoutOf = (width: number): Layout => ({
  width,
  textWidth: (t) => stringWidth(t),
  cut: (t, n) => cliTruncate(t, n, { position: 'end' }),
  wrap: (t, n) => wrapAnsi(t, n, { hard: true, trim: true }),
});
const MB = 1024 * 1024;

function leak(pid: number, ppid: number, command: string, extra: Partial<AttributedProcess> = {}): AttributedProcess {
  return { ...proc(pid, ppid, command), evidence: ['tag', 'lineage'], ...extra };
}

function report(orphans: AttributedProcess[]): TaskReport {
  return { command: ['x'], exitCode: 0, signal: null, durationMs: 1, before: null, after: null, memoryDeltaMB: 0, memoryThresholdMB: 100, memoryGrowthExceeded: false, orphans, suspects: [], kept: [], leakedMemoryMB: 0, tag: null } as unknown as TaskReport;
}

describe('counts and memory, labelled', () => {
  it.each([
    [0, 'processes'],
    [1, 'process'],
    [2, 'processes'],
  ])('%i %s', (n, noun) => expect(counted(n, 'process', 'processes')).toBe(`${n} ${noun}`));

  it('"1 group", "1 tree": never "1 groups"', () => {
    expect(counted(1, 'group')).toBe('1 group');
    expect(counted(3, 'tree')).toBe('3 trees');
  });

  it('memory says which it is: PSS (what ending it gives back) first, RSS beside it; RSS alone where PSS is not known', () => {
    const measured = [leak(1, 0, 'a', { memoryMB: 40, memoryBytes: 40 * MB, cost: { pssBytes: 10 * MB } })];
    expect(memoryText(measured, true)).toBe('10.0 MB PSS (what ending it gives back), RSS 40.0 MB');
    expect(memoryText(measured)).toBe('10.0 MB PSS, RSS 40.0 MB');
    const mixed = [...measured, leak(2, 0, 'b', { memoryMB: 5, memoryBytes: 5 * MB, cost: { memoryUnreadable: true } })];
    expect(memoryText(mixed)).toBe('15.0 MB PSS (1 unreadable, counted by RSS), RSS 45.0 MB');
    expect(memoryText([leak(3, 0, 'c', { memoryMB: 5, memoryBytes: 5 * MB })])).toBe('5.0 MB RSS');
  });

  it('each process row says which memory it shows', () => {
    const text = renderRunSummary(report([leak(10, 1, 'node server.js', { memoryMB: 40, memoryBytes: 40 * MB, cost: { pssBytes: 12 * MB } }), leak(11, 10, 'sleep 1', { memoryMB: 2, cost: { memoryUnreadable: true } })]));
    expect(text).toContain('rtrack: the task left running: 2 processes, 14.0 MB PSS (what ending it gives back; 1 unreadable, counted by RSS), RSS 42.0 MB');
    // a process whose cost was not read (scan reads it for the largest suspected trees only) is said so
    const notRead = renderRunSummary(report([leak(10, 1, 'node server.js', { memoryMB: 40, memoryBytes: 40 * MB, cost: { pssBytes: 12 * MB } }), leak(11, 10, 'sleep 1', { memoryMB: 2 })]));
    expect(notRead).toContain('2 processes, 14.0 MB PSS (what ending it gives back; 1 not read, counted by RSS), RSS 42.0 MB');
    expect(text).toMatch(/^ +10 +12\.0 MB PSS +node server\.js {2}\(tag, lineage\)$/m);
    expect(text).toMatch(/^ +11 +2\.0 MB RSS +└─ sleep 1/m);
  });
});

/** A scan of the given leaked processes (certain: tagged by a run that is gone), as scanMachine reports it. */
function scanOf(processes: AttributedProcess[]): ScanReport {
  const tag = 'rt2.999.5.0.aa';
  const analysis = analyzeMachine(snap([proc(1, 0, '/sbin/init'), ...processes.map((p) => ({ ...p, taskTag: tag }))]), { ageSeconds: () => 5, parseTag: parseTaskTag, ownerPid: () => null });
  for (const g of analysis.certain) for (const p of g.processes) p.cost = processes.find((q) => q.pid === p.pid)?.cost;
  const empty = { groups: 0, processes: 0, pssBytes: 0, pssMB: 0, ussBytes: 0, rssBytes: 0, rssMB: 0, pssUnknown: 0, spinning: 0, cpuPercent: 0 };
  return { timestamp: new Date(0), warnings: [], ...analysis, leftoverCgroups: [], leakTotals: { certain: empty, suspected: empty } };
}

const commandText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 120 }), // CJK, emoji: two columns each
  fc.constantFrom('npx -y @modelcontextprotocol/server-filesystem /home/user/projects', '数据处理服务 --端口 8080', '🚀 dev-server --watch', 'a'.repeat(500)),
);

describe('why a process is only a suspect, or kept', () => {
  it('a line under its row says it: what it carries was not read whole or is a shared host\'s; its pipeline', () => {
    const base = report([]);
    const suspect = leak(20, 1, 'mydaemon', { suspectBecause: 'its environment was overwritten (a title rewrite): its markers cannot be told' });
    const tee = leak(21, 1, 'tee dev.log', { keepBecause: 'in the pipeline of kept pid 19' });
    const text = renderRunSummary({ ...base, suspects: [suspect], kept: [tee] } as TaskReport);
    expect(text).toMatch(/ mydaemon  \(tag, lineage\)\n\s+not certain: its environment was overwritten \(a title rewrite\): its markers cannot be told\n/);
    expect(text).toMatch(/ tee dev\.log  \(tag, lineage\)\n\s+kept: in the pipeline of kept pid 19\n/);
  });
});

describe('on a terminal, every line fits its width; piped, lines are whole', () => {
  it('scan and the run summary (property: any command, any width from 40 columns)', () => {
    fc.assert(
      fc.property(fc.array(commandText, { minLength: 1, maxLength: 6 }), fc.integer({ min: 40, max: 200 }), fc.boolean(), (commands, width, ports) => {
        const processes = commands.map((c, i) =>
          leak(100 + i, i === 0 ? 1 : 100 + i - 1, c || 'x', { cost: { pssBytes: 3 * MB, ...(ports ? { listening: [{ protocol: 'tcp' as const, address: '::1', port: 30000 + i }] } : {}) } }),
        );
        const layout = layoutOf(width);
        for (const text of [renderScan(scanOf(processes), layout), renderRunSummary(report(processes), layout)]) {
          for (const line of text.trimEnd().split('\n')) expect(stringWidth(line), line).toBeLessThanOrEqual(width);
        }
      }),
      RUNS,
    );
  });

  it('on a terminal, evidence and ports come before the command, under one header; the command is cut with an ellipsis', () => {
    const long = `node /home/agent/.npm/_npx/9833c18b/node_modules/@playwright/mcp/cli.js${' --flag'.repeat(20)}`;
    const processes = [leak(1833, 1, long, { cost: { pssBytes: 3 * MB, listening: [{ protocol: 'tcp', address: '127.0.0.1', port: 38111 }] } })];
    const lines = renderScan(scanOf(processes), layoutOf(80)).trimEnd().split('\n');
    const header = lines.findIndex((l) => /PID +MEMORY +EVIDENCE +LISTENING ON +MCP +COMMAND/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^ +1833 +3\.0 MB PSS +tag +127\.0\.0\.1:38111 +\[MCP\] node \/home\/agent\/.*…$/);
    // Piped: as always, the command whole, then its evidence and ports; no header.
    const piped = renderScan(scanOf(processes));
    expect(piped).toContain(`[MCP] ${long}  (tag)  listening on 127.0.0.1:38111`);
    expect(piped).not.toMatch(/PID +MEMORY/);
  });
});

describe('the --match pattern a person is told to type', () => {
  const commandLine = fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }).filter((w) => !w.includes(' ')), fc.constantFrom('/usr/bin/python3', '-m', 'http.server', '(x)', '$HOME', "it's", 'a\nb', '\u001b[31m')), { minLength: 1, maxLength: 8 }).map((w) => w.join(' '));

  it('matches its root, and no other root whose command line differs (property)', () => {
    fc.assert(
      fc.property(commandLine, fc.array(commandLine, { maxLength: 5 }), (root, others) => {
        const pattern = matchPatternFor({ command: root, commandLine: root }, others.map((c) => ({ command: c, commandLine: c })));
        const regex = new RegExp(pattern);
        expect(regex.test(root)).toBe(true);
        for (const other of others) if (other !== root) expect(regex.test(other), `${pattern} vs ${JSON.stringify(other)}`).toBe(false);
        expect(pattern).not.toMatch(/[\u0000-\u001f\u007f]/); // printable, so it can be typed
      }),
      RUNS,
    );
  });

  it('short, after the program\'s directory', () => {
    const root = proc(5, 1, 'python3', { commandLine: '/root/.pyenv/versions/3.11.7/bin/python3 -m http.server 38111' });
    expect(matchPatternFor(root, [root])).toBe('^(\\S*/)?python3 -m http\\.server 38111$');
    expect(fullCommand(root)).toMatch(new RegExp(matchPatternFor(root, [])));
  });

  it('reaches the shell as it was written: quoted for a POSIX shell (property, through a real sh)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\u0000')), (text) => {
        const echoed = spawnSync('/bin/sh', ['-c', `printf %s ${shellQuote(text)}`], { encoding: 'utf8' });
        expect(echoed.stdout).toBe(text);
      }),
      { numRuns: 50 },
    );
  });

  it('scan --reap with only suspects says why nothing is reaped and prints the command that would reap each', () => {
    const root = proc(7, 1, 'node dev-server.js');
    const text = renderNothingToReap([{ group: { root, processes: [{ ...root, evidence: ['heuristic'] }], totalMemoryMB: 10, totalMemoryBytes: 10 * MB, ageSeconds: 1 }, pattern: matchPatternFor(root, [root]) }]);
    expect(text).toBe("rtrack: nothing to reap: scan --reap reaps only certain leaks; the 1 suspected tree above is reaped only when you name it:\n  rtrack scan --reap --match '^node dev-server\\.js$' --yes\n");
  });
});

describe('option values: the same units everywhere', () => {
  it.each([
    ['1s', 1000],
    ['500ms', 500],
    ['2m', 120_000],
    ['3000', 3000], // a bare number is milliseconds, as --grace always took
    ['0', 0],
  ])('--grace %s is %i ms', (text, ms) => expect(parseGrace(text)).toBe(ms));

  it.each([
    ['15s', 15_000],
    ['15', 15_000], // a bare number is seconds, as --interval always took
    ['100ms', 100],
  ])('--interval %s is %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('help shows a default in the unit the flag takes, and reads back as the same duration (property)', () => {
    expect([formatDuration(15_000), formatDuration(60_000), formatDuration(3000), formatDuration(1500)]).toEqual(['15s', '1m', '3s', '1500ms']);
    fc.assert(fc.property(fc.integer({ min: 10, max: 10 ** 9 }), (ms) => {
      expect(parseGrace(formatDuration(ms))).toBe(ms);
    }), RUNS);
  });

  it.each(['x', '0', '-1', '1.5', ''])('--limit %j is refused as a count, not as a port', (text) => expect(() => parseCount(text)).toThrow(/whole number from 1/));
});
