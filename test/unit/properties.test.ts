// Property tests for every parser: hostile names, odd bytes, generated rows and YAML.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { formatTextLine, formatTextValue } from '../../src/log.js';
import { ConfigError } from '../../src/errors.js';
import { parsePsTable } from '../../src/platform/darwin.js';
import { environmentGarbled, parseCmdline, parseEnvMarkers, parseStat, parseStatOnce, variablePrefixes } from '../../src/platform/linux.js';
import { parseCimTable, parseTasklistTable, parseWmicTable } from '../../src/platform/windows.js';
import { displayCommand } from '../../src/rules/display-command.js';
import { escapeUnprintable } from '../../src/text.js';

// Locally every run explores new cases (PROPERTY_RUNS=20000 for a long hunt); CI uses a fixed seed
// so that a landing never depends on luck — a failure found locally is fixed, not re-rolled.
const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261126 });

/** A /proc/[pid]/stat line as the kernel writes it, with a name of up to 15 arbitrary bytes. */
function statLine(pid: number, name: Uint8Array, ppid: number, startTime: number, rss: number): Buffer {
  const after = [
    'S', ppid, 4242, 4243, 34816, -1, 4194560, 1053, 0, 0, 0, 12, 3, 0, 0, 20, 0, 1, 0, startTime, 17248256, rss,
    '18446744073709551615', 1, 1, 0, 0, 0, 0, 0, 3670020, 1266777851, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ].join(' ');
  return Buffer.concat([Buffer.from(`${pid} (`), name, Buffer.from(`) ${after}\n`)]);
}

const hostileName = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 15 }),
  fc.constantFrom(') 1 1 (', '(', ')', 'a b c', 'x\ny', ')) ((', ') S 1 1 1 (', '').map((s) => new Uint8Array(Buffer.from(s).subarray(0, 15))),
);

describe('parseStat (property)', () => {
  it('finds ppid, start time and RSS whatever the name holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4194304 }), hostileName, fc.integer({ min: 0, max: 4194304 }), fc.nat({ max: 2 ** 52 }), fc.nat({ max: 2 ** 40 }), (pid, name, ppid, start, rss) => {
        const line = statLine(pid, name, ppid, start, rss);
        const parsed = parseStat(line, line.length);
        expect(parsed).toMatchObject({ pid, ppid, startTime: start, rssPages: rss, state: 'S', pgrp: 4242, session: 4243, tpgid: -1, numThreads: 1 });
        expect(parsed!.name).toBe(Buffer.from(name).toString('utf8'));
      }),
      RUNS,
    );
  });

  it('never throws on truncated or garbage input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const parsed = parseStat(buf, buf.length);
        if (parsed) expect(Number.isInteger(parsed.ppid) && parsed.ppid >= 0).toBe(true);
        const once = parseStatOnce(buf, buf.length);
        if (once) expect(Number.isInteger(once.ppid) && once.ppid >= 0 && once.startTime >= 0).toBe(true);
      }),
      RUNS,
    );
  });

  it('parseStatOnce (the first table read\'s) reads what parseStat reads, in a buffer longer than the line too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4194304 }), hostileName, fc.integer({ min: 0, max: 4194304 }), fc.nat({ max: 2 ** 52 }), fc.nat({ max: 2 ** 40 }), fc.uint8Array({ maxLength: 40 }), (pid, name, ppid, start, rss, junk) => {
        const line = statLine(pid, name, ppid, start, rss);
        const buf = Buffer.concat([line, Buffer.from(junk)]); // a reused buffer: what follows the line is not read
        expect(parseStatOnce(buf, line.length)).toEqual(parseStat(buf, line.length));
        expect(parseStatOnce(buf, line.length, false)).toEqual(parseStat(buf, line.length, false));
      }),
      RUNS,
    );
  });
});

describe('parseCmdline and the displayed command (property)', () => {
  const arg = fc.oneof(fc.string({ unit: 'binary' }), fc.constant(''), fc.string({ minLength: 200, maxLength: 5000 }));
  it('joins arguments with spaces; trailing NULs (and so trailing empty arguments) are dropped', () => {
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 8 }), fc.nat({ max: 3 }), (args, trailing) => {
        const clean = args.map((a) => a.replace(/\0/g, ''));
        const bytes = Buffer.concat([...clean.map((a) => Buffer.from(`${a}\0`)), Buffer.alloc(trailing)]);
        let last = clean.length;
        while (last > 0 && clean[last - 1] === '') last--;
        const expected = clean.slice(0, last).join(' ');
        expect(parseCmdline(bytes, bytes.length)).toBe(Buffer.from(expected).toString('utf8'));
      }),
      RUNS,
    );
  });

  it('invalid UTF-8 decodes to replacement characters, and truncation never splits a character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.string({ maxLength: 15 }), (bytes, name) => {
        const buf = Buffer.from(bytes);
        const shown = displayCommand(parseCmdline(buf, buf.length), name);
        expect(shown.isWellFormed()).toBe(true);
        const body = shown.endsWith('...') ? shown.slice(0, -3) : shown;
        expect([...body].length).toBeLessThanOrEqual(100);
      }),
      RUNS,
    );
  });

  it('truncation keeps exactly the first 100 characters of a long command', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 101, maxLength: 400 }), (text) => {
        const chars = [...text];
        fc.pre(chars.length > 100);
        expect(displayCommand(text, 'x')).toBe(`${chars.slice(0, 100).join('')}...`);
      }),
      RUNS,
    );
  });
});

describe('escapeUnprintable: a command shown to a person (property)', () => {
  it('is one line with no control character, and printable text is shown unchanged', () => {
    const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (command) => {
        const shown = escapeUnprintable(command);
        expect(shown).not.toMatch(unprintable);
        if (!unprintable.test(command)) expect(shown).toBe(command);
      }),
      RUNS,
    );
  });

  it.each([
    ['a\nb', 'a\\nb'],
    ['\x1b[31mred', '\\x1b[31mred'],
    ['tab\there\r', 'tab\\there\\r'],
    ['\u202etxt.exe', '\\u202etxt.exe'],
    ['\u0085next', '\\x85next'],
    ['héllo 日本語 ✓', 'héllo 日本語 ✓'],
  ])('%j is shown as %j', (command, shown) => {
    expect(escapeUnprintable(command)).toBe(shown);
  });
});

describe('parseEnvMarkers (property)', () => {
  it('finds the tracker variables among arbitrary others', () => {
    const name = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/).filter((n) => !n.startsWith('RESOURCE_TRACKER_'));
    const value = fc.string().map((s) => s.replace(/\0/g, ''));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 10 }), fc.option(value), fc.option(fc.constantFrom('1', '0', '', 'yes')), fc.boolean(), (vars, task, keep, staleTail) => {
        const entries = vars.map(([k, v]) => `${k}=${v}`);
        if (task !== null) entries.splice(entries.length >> 1, 0, `RESOURCE_TRACKER_TASK=${task}`);
        if (keep !== null) entries.push(`RESOURCE_TRACKER_KEEP=${keep}`);
        const environ = Buffer.from(entries.map((e) => `${e}\0`).join(''));
        // The reader's buffer is reused: past `length` it may hold an earlier process's markers.
        const buf = staleTail ? Buffer.concat([environ, Buffer.from('RESOURCE_TRACKER_KEEP=1\0RESOURCE_TRACKER_TASK=old\0')]) : environ;
        const markers = parseEnvMarkers(buf, environ.length);
        expect(markers.task).toBe(task === null ? undefined : task);
        expect(markers.keep).toBe(keep !== null && keep !== '' && keep !== '0');
      }),
      RUNS,
    );
  });
});

/** Generated processes for the macOS and Windows formats. */
const commandText = fc.string({ unit: 'grapheme', maxLength: 80 }).map((s) => s.replace(/[\r\n\0]/g, ' ').trim());
const processRow = fc.record({
  pid: fc.integer({ min: 0, max: 99999 }),
  ppid: fc.integer({ min: 0, max: 99999 }),
  kb: fc.nat({ max: 50_000_000 }),
  start: fc.date({ min: new Date(2000, 0, 1), max: new Date(2099, 11, 31), noInvalidDate: true }).map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000)),
  command: commandText,
  name: fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.replace(/[\r\n\0",]/g, '_')),
});

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const pad = (n: number): string => String(n).padStart(2, '0');
const lstart = (d: Date): string => `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;

describe('macOS and Windows parsers on generated rows (property)', () => {
  it('ps: every row comes back as written', () => {
    fc.assert(
      fc.property(fc.array(processRow, { maxLength: 20 }), (rows) => {
        const text = rows.map((r) => `${String(r.pid).padStart(5)} ${String(r.ppid).padStart(5)} ${String(r.kb).padStart(6)} ${lstart(r.start)} ${r.command}`).join('\n');
        const parsed = parsePsTable(text);
        expect(parsed.skipped).toBe(0);
        expect(parsed.processes.map((p) => [p.pid, p.ppid, p.rssBytes, p.startTime, p.commandLine])).toEqual(rows.map((r) => [r.pid, r.ppid, r.kb * 1024, r.start.getTime(), r.command]));
      }),
      RUNS,
    );
  });

  it('CIM JSON: an array, or an object for one process', () => {
    fc.assert(
      fc.property(fc.array(processRow, { minLength: 1, maxLength: 20 }), (rows) => {
        const objects = rows.map((r) => ({ ProcessId: r.pid, ParentProcessId: r.ppid, WorkingSetSize: r.kb * 1024, CreationDate: `/Date(${r.start.getTime()})/`, Name: r.name, CommandLine: r.command }));
        const parsed = parseCimTable(JSON.stringify(objects.length === 1 ? objects[0] : objects));
        expect(parsed.processes.map((p) => [p.pid, p.ppid, p.rssBytes, p.startTime, p.commandLine, p.name])).toEqual(rows.map((r) => [r.pid, r.ppid, r.kb * 1024, r.start.getTime(), r.command, r.name]));
      }),
      RUNS,
    );
  });

  it('wmic CSV: command lines with commas survive the unquoted format', () => {
    fc.assert(
      fc.property(fc.array(processRow, { maxLength: 20 }), (rows) => {
        const wmi = (d: Date): string => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.000000+000`;
        const text = ['', 'Node,CommandLine,CreationDate,Name,ParentProcessId,ProcessId,WorkingSetSize', ...rows.map((r) => `HOST,${r.command},${wmi(r.start)},${r.name},${r.ppid},${r.pid},${r.kb * 1024}`)].join('\r\r\n');
        const parsed = parseWmicTable(text);
        expect(parsed.skipped).toBe(0);
        expect(parsed.processes.map((p) => [p.pid, p.ppid, p.rssBytes, p.startTime, p.commandLine])).toEqual(rows.map((r) => [r.pid, r.ppid, r.kb * 1024, r.start.getTime(), r.command]));
      }),
      RUNS,
    );
  });

  it('tasklist CSV: quoted names with commas and quotes, memory with any thousands separator', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ pid: fc.nat({ max: 99999 }), kb: fc.nat({ max: 9_999_999 }), image: fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' ')), sep: fc.constantFrom(',', '.', ' ', '\u00a0', "'") }), { maxLength: 20 }), (rows) => {
        const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
        const text = rows.map((r) => [quote(r.image), quote(String(r.pid)), quote('Console'), quote('1'), quote(`${r.kb.toLocaleString('en-US').replace(/,/g, r.sep)} K`)].join(',')).join('\r\n');
        const parsed = parseTasklistTable(text);
        expect(parsed.skipped).toBe(0);
        expect(parsed.processes.map((p) => [p.name, p.pid, p.rssBytes, p.ppid])).toEqual(rows.map((r) => [r.image, r.pid, r.kb * 1024, -1]));
      }),
      RUNS,
    );
  });

  it('no parser throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (text) => {
        for (const parse of [parsePsTable, parseCimTable, parseWmicTable, parseTasklistTable]) expect(() => parse(text)).not.toThrow();
      }),
      RUNS,
    );
  });
});

describe('text log lines with hostile values (property)', () => {
  it('a value is one token: never a raw unprintable character, and a quoted one parses back to the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const shown = formatTextValue('processes', value);
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
        expect(shown.startsWith('"') ? JSON.parse(shown) : shown).toBe(value);
      }),
      RUNS,
    );
  });

  it('an orphan with a newline and an escape sequence in its command cannot forge a second line', () => {
    const line = formatTextLine('warn', 'orphaned processes detected', { count: 1, processes: 'evil\nINFO all clear\x1b[2J (PID=7)' });
    expect(line).toBe('WARN orphaned processes detected count=1 processes="evil\\nINFO all clear\\u001b[2J (PID=7)"');
  });
});

describe('config loader on generated YAML (property)', () => {
  const anyValue = fc.oneof(fc.boolean(), fc.integer({ min: -1000, max: 100000 }), fc.double({ noNaN: true }), fc.string(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
  const section = fc.dictionary(
    fc.oneof(fc.constantFrom('enabled', 'memory_threshold_mb', 'log_orphaned_mcp_only', 'keep', 'lineage_interval_ms'), fc.string({ minLength: 1, maxLength: 12 })),
    anyValue,
    { maxKeys: 6 },
  );

  it('either gives a valid config or a one-line ConfigError naming the file', () => {
    fc.assert(
      fc.property(section, fc.boolean(), (rt, wrap) => {
        const text = stringify(wrap ? { other: 1, diagnostics: { resource_tracking: rt } } : { diagnostics: { resource_tracking: rt } });
        try {
          const config = parseConfig(text, 'gen.yaml');
          expect(typeof config.enabled).toBe('boolean');
          expect(config.memoryThresholdMB).toBeGreaterThanOrEqual(0);
          if (typeof rt.enabled === 'boolean') expect(config.enabled).toBe(rt.enabled);
          if (typeof rt.memory_threshold_mb === 'number') expect(config.memoryThresholdMB).toBe(rt.memory_threshold_mb);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as Error).message.startsWith('gen.yaml: ')).toBe(true);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      RUNS,
    );
  });

  it('never throws anything but ConfigError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parseConfig(text, 'any.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      RUNS,
    );
  });
});

describe('environmentGarbled (property)', () => {
  /** The byte loop it replaced (one native match now): the reference. */
  function garbledByBytes(buf: Buffer, length: number): boolean {
    if (length === 0) return false;
    if (buf[length - 1] !== 0) return true;
    let start = 0;
    while (start < length) {
      const end = buf.indexOf(0, start);
      let i = start;
      for (; i < end; i++) {
        const c = buf[i]!;
        if (c === 0x3d) break;
        if (c <= 0x20 || c === 0x7f) return true;
      }
      if (i === start || i === end) return true;
      start = end + 1;
    }
    return false;
  }
  const byte = fc.oneof(fc.constantFrom(0, 0x3d, 0x20, 0x09, 0x7f, 0x41, 0x5f, 0x80, 0xff), fc.integer({ min: 0, max: 255 }));
  const entry = fc.tuple(fc.array(byte, { maxLength: 12 }), fc.boolean(), fc.array(byte, { maxLength: 12 })).map(([name, eq, value]) => [...name, ...(eq ? [0x3d] : []), ...value.filter((b) => b !== 0), 0]);
  it('says what the byte-by-byte check says, for any bytes and for entries built of likely ones, whatever follows in a reused buffer', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((a) => [...a]), fc.array(entry, { maxLength: 8 }).map((es) => es.flat())), fc.uint8Array({ maxLength: 16 }), (bytes, tail) => {
        const buf = Buffer.from([...bytes, ...tail]);
        expect(environmentGarbled(buf, bytes.length)).toBe(garbledByBytes(buf, bytes.length));
      }),
      RUNS,
    );
  });
});

describe('parseEnvMarkers against the walk it replaced (property)', () => {
  /** The entry-by-entry walk (one native match now): the reference. */
  function byWalk(buf: Buffer, length: number, wanted: { name: string; prefix: Buffer }[]): Record<string, unknown> {
    const markers: { keep: boolean; task?: string; daemon?: string; vars?: Record<string, string> } = { keep: false };
    const starts = (start: number, end: number, prefix: Buffer): boolean => end - start >= prefix.length && buf.subarray(start, start + prefix.length).equals(prefix);
    const value = (start: number, end: number, prefix: Buffer): string => buf.toString('utf8', start + prefix.length, end);
    const [task, keep, daemon] = ['RESOURCE_TRACKER_TASK=', 'RESOURCE_TRACKER_KEEP=', 'RESOURCE_TRACKER_DAEMON='].map((t) => Buffer.from(t));
    let start = 0;
    while (start < length) {
      let end = buf.indexOf(0, start);
      if (end < 0 || end > length) end = length;
      for (const w of wanted) {
        if (!starts(start, end, w.prefix)) continue;
        (markers.vars ??= {})[w.name] = value(start, end, w.prefix);
        break;
      }
      if (starts(start, end, task!)) markers.task = value(start, end, task!);
      else if (starts(start, end, keep!)) markers.keep = !['', '0'].includes(value(start, end, keep!));
      else if (starts(start, end, daemon!) && value(start, end, daemon!) !== '') markers.daemon = value(start, end, daemon!);
      start = end + 1;
    }
    return markers;
  }
  const names = ['RESOURCE_TRACKER_TASK', 'RESOURCE_TRACKER_KEEP', 'RESOURCE_TRACKER_DAEMON', 'CLAUDE_CODE_SESSION_ID', 'CLAUDE_PID', 'CODEX_SESSION_ID', 'GEMINI_CLI', 'A.B', 'PATH', 'X'];
  const entry = fc.tuple(fc.constantFrom(...names, 'RESOURCE_TRACKER_TASKX', 'CLAUDE_PIDX', ''), fc.constantFrom('=', '', '=='), fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', '0', '1', 'é')));
  it('finds what walking entry by entry found: the tracker\'s markers and the wanted variables, later entries winning, nothing past the length', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.subarray(['CLAUDE_CODE_SESSION_ID', 'CLAUDE_PID', 'CODEX_SESSION_ID', 'GEMINI_CLI', 'A.B']), fc.boolean(), fc.boolean(), (entries, wantedNames, terminated, tail) => {
        const text = entries.map(([n, eq, v]) => `${n}${eq}${v.replace(/\0/g, '')}`).join('\0') + (terminated && entries.length > 0 ? '\0' : '');
        const environ = Buffer.from(text);
        const buf = tail ? Buffer.concat([environ, Buffer.from('\0RESOURCE_TRACKER_KEEP=1\0CLAUDE_PID=9\0')]) : environ;
        const wanted = variablePrefixes(wantedNames);
        expect(JSON.parse(JSON.stringify(parseEnvMarkers(buf, environ.length, wanted)))).toEqual(JSON.parse(JSON.stringify(byWalk(buf, environ.length, wanted))));
      }),
      RUNS,
    );
  });
});
