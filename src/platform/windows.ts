// Windows: three sources, in order of preference.
//   1. PowerShell Get-CimInstance Win32_Process … | ConvertTo-Json -Compress  (wmic is gone from current Windows 11)
//   2. wmic process get … /format:csv   (columns sorted by name, lines end \r\r\n, fields unquoted)
//   3. tasklist /fo csv /nh             (no parent pids: orphan detection cannot run)
// Windows never re-parents: an orphan keeps its dead parent's pid, which may be reused; the pure
// rules treat a parent younger than its child as gone.
import type { ProcessIdentity } from '../types.js';
import { childProcess, execFileAsync } from './child-process.js';
import { ProcessUnreadableError, type ParsedTable, type PlatformReader, type ProcessStatus, type ProcessTable, type RawProcess, type StatusMap } from './types.js';

const CIM_FIELDS = 'ProcessId,ParentProcessId,WorkingSetSize,CreationDate,Name,CommandLine';
/** The PowerShell command that reads the Windows process table. */
export const CIM_COMMAND = `Get-CimInstance Win32_Process | Select-Object ${CIM_FIELDS} | ConvertTo-Json -Compress`;
/** `wmic`'s arguments, where PowerShell is missing. */
export const WMIC_ARGS = ['process', 'get', CIM_FIELDS, '/format:csv'];
/** `tasklist`'s arguments, the last resort (no parent pids). */
export const TASKLIST_ARGS = ['/fo', 'csv', '/nh'];
export const NO_PARENTS_WARNING = 'tasklist gives no parent process ids: orphan detection cannot run on this machine, no orphans are reported';

/** CreationDate as PowerShell serialises it: `/Date(ms)/` (5.1), ISO 8601 (7), or a WMI datetime. */
export function parseCreationDate(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value === '') return Number.NaN;
  const legacy = /^\/Date\((-?\d+)\)\/$/.exec(value);
  if (legacy) return Number(legacy[1]);
  const wmi = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$/.exec(value);
  if (wmi) {
    const [, y, mo, d, h, mi, s, us, sign, offset] = wmi;
    const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(us) / 1000));
    return utc - (sign === '+' ? 1 : -1) * Number(offset) * 60_000;
  }
  const iso = Date.parse(value);
  return Number.isNaN(iso) ? Number.NaN : iso;
}

function toInt(value: unknown): number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : Number.NaN;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return Number.NaN;
}

function rawOf(pid: number, ppid: number, name: string, commandLine: string, rssBytes: number, startTime: number): RawProcess {
  return { pid, ppid, name, commandLine, rssBytes, startTime };
}

/** Parses `Get-CimInstance Win32_Process | … | ConvertTo-Json -Compress` (an object when there is one process). */
export function parseCimTable(text: string): ParsedTable {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { processes: [], skipped: 0 };
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return { processes: [], skipped: 1 };
  }
  const rows = Array.isArray(data) ? data : [data];
  const processes: RawProcess[] = [];
  let skipped = 0;
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) {
      skipped++;
      continue;
    }
    const r = row as Record<string, unknown>;
    const pid = toInt(r.ProcessId);
    const ppid = toInt(r.ParentProcessId);
    if (Number.isNaN(pid) || Number.isNaN(ppid)) {
      skipped++;
      continue;
    }
    const rss = toInt(r.WorkingSetSize);
    const created = parseCreationDate(r.CreationDate);
    processes.push(
      rawOf(pid, ppid, typeof r.Name === 'string' ? r.Name : '', typeof r.CommandLine === 'string' ? r.CommandLine : '', Number.isNaN(rss) ? 0 : rss, Number.isNaN(created) ? 0 : created),
    );
  }
  return { processes, skipped };
}

/**
 * Parses `wmic process get … /format:csv`. Fields are not quoted and a command line may contain
 * commas, so the header fixes every column but CommandLine, which takes whatever is left.
 */
export function parseWmicTable(text: string): ParsedTable {
  const lines = text.split(/\r*\n/).map((l) => l.replace(/\r+$/, '')).filter((l) => l.trim() !== '');
  const processes: RawProcess[] = [];
  if (lines.length === 0) return { processes, skipped: 0 };
  const header = lines[0]!.split(',').map((h) => h.trim());
  const commandAt = header.indexOf('CommandLine');
  const index = (name: string): number => header.indexOf(name);
  const needed = ['ProcessId', 'ParentProcessId', 'WorkingSetSize', 'CreationDate', 'Name'];
  if (commandAt < 0 || needed.some((n) => index(n) < 0)) return { processes, skipped: lines.length };
  const after = header.length - commandAt - 1;
  let skipped = 0;
  for (const line of lines.slice(1)) {
    const parts = line.split(',');
    if (parts.length < header.length) {
      skipped++;
      continue;
    }
    const extra = parts.length - header.length;
    const field = (name: string): string => {
      const i = index(name);
      return (i < commandAt ? parts[i] : parts[i + extra]) ?? '';
    };
    const commandLine = parts.slice(commandAt, parts.length - after).join(',');
    const pid = toInt(field('ProcessId'));
    const ppid = toInt(field('ParentProcessId'));
    if (Number.isNaN(pid) || Number.isNaN(ppid)) {
      skipped++;
      continue;
    }
    const rss = toInt(field('WorkingSetSize'));
    const created = parseCreationDate(field('CreationDate'));
    processes.push(rawOf(pid, ppid, field('Name'), commandLine, Number.isNaN(rss) ? 0 : rss, Number.isNaN(created) ? 0 : created));
  }
  return { processes, skipped };
}

/** One CSV record split into fields: quoted fields may hold commas and doubled quotes. */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      const comma = line.indexOf(',', i);
      i = comma < 0 ? line.length + 1 : comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/** Parses `tasklist /fo csv /nh`: "Image Name","PID","Session Name","Session#","Mem Usage" ("1,234 K"). No parents. */
export function parseTasklistTable(text: string): ParsedTable {
  const processes: RawProcess[] = [];
  let skipped = 0;
  for (const line of text.split(/\r*\n/)) {
    const trimmed = line.replace(/\r+$/, '');
    if (trimmed.trim() === '') continue;
    const fields = splitCsvLine(trimmed);
    const pid = toInt(fields[1]);
    const memory = fields[4]?.replace(/[^\d]/g, '') ?? '';
    if (fields.length < 5 || Number.isNaN(pid) || memory === '') {
      skipped++;
      continue;
    }
    // Mem Usage is in KiB, with locale-dependent thousands separators ("1,234 K", "1.234 K", "1 234 K").
    processes.push(rawOf(pid, -1, fields[0]!, '', Number(memory) * 1024, 0));
  }
  return { processes, skipped };
}

type Source = 'cim' | 'wmic' | 'tasklist';

/** PowerShell starts in about a second; a query that has not answered in this time has hung. */
export const WINDOWS_QUERY_TIMEOUT_MS = 30_000;
/** Up to this many pids are asked for by a filter; more are read as the whole table. */
const FILTER_MAX_PIDS = 50;

async function runQuery(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { maxBuffer: 256 * 1024 * 1024, windowsHide: true, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean };
    if (e.killed) throw Object.assign(new Error(`${file}: no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
    throw Object.assign(new Error(`${file}: ${e.message.split('\n')[0]}`), { code: e.code });
  }
}

/** Reads the process table from one source; with pids, only those processes (one query for all). */
async function readSource(source: Source, timeoutMs: number, pids?: readonly number[]): Promise<ParsedTable> {
  const filtered = pids !== undefined && pids.length <= FILTER_MAX_PIDS;
  if (source === 'cim') {
    const filter = pids?.map((pid) => `ProcessId=${pid}`).join(' OR ');
    const query = filtered ? CIM_COMMAND.replace('Win32_Process', `Win32_Process -Filter "${filter}"`) : CIM_COMMAND;
    return parseCimTable(await runQuery('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', query], timeoutMs));
  }
  if (source === 'wmic') {
    const where = pids?.map((pid) => `ProcessId=${pid}`).join(' or ');
    const args = filtered ? ['process', 'where', where!, ...WMIC_ARGS.slice(1)] : WMIC_ARGS;
    return parseWmicTable(await runQuery('wmic', args, timeoutMs));
  }
  const args = filtered && pids.length === 1 ? [...TASKLIST_ARGS, '/fi', `PID eq ${pids[0]}`] : TASKLIST_ARGS;
  return parseTasklistTable(await runQuery('tasklist', args, timeoutMs));
}

export function createWindowsReader(options: { timeoutMs?: number } = {}): PlatformReader {
  const timeoutMs = options.timeoutMs ?? WINDOWS_QUERY_TIMEOUT_MS;
  /** Sources found missing (the command does not exist): skipped from then on. A source that merely failed is tried again next time. */
  const missing = new Set<Source>();
  let self: ProcessIdentity | undefined;

  /** The first source that answers, in order of preference, tried afresh on every read. */
  async function read(pids?: readonly number[]): Promise<{ table: ParsedTable; source: Source }> {
    const errors: string[] = [];
    for (const candidate of ['cim', 'wmic', 'tasklist'] as const) {
      if (missing.has(candidate)) continue;
      try {
        const table = await readSource(candidate, timeoutMs, pids);
        // The whole table is never empty (System and Idle are always there): empty means failed.
        if (pids === undefined && table.processes.length === 0) throw new Error(`${candidate}: listed no processes`);
        return { table, source: candidate };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') missing.add(candidate);
        errors.push((err as Error).message);
      }
    }
    throw new Error(`cannot list processes (PowerShell, wmic and tasklist all failed): ${errors.join('; ')}`);
  }

  const readProcessTable = async (): Promise<ProcessTable> => {
    const { table, source: used } = await read();
    const warnings: string[] = [];
    if (used === 'tasklist') warnings.push(NO_PARENTS_WARNING);
    if (table.skipped > 0) warnings.push(`${used}: ${table.skipped} malformed rows skipped`);
    return { processes: table.processes, warnings };
  };
  /** One query for every pid of a reaping round or a lineage poll, never one PowerShell per pid. */
  const readStatuses = async (pids: readonly number[]): Promise<StatusMap> => {
    const statuses: StatusMap = new Map();
    if (pids.length === 0) return statuses;
    let table: ParsedTable;
    try {
      table = (await read(pids)).table;
    } catch {
      for (const pid of pids) statuses.set(pid, null); // no source answered: nothing can be said of them
      return statuses;
    }
    const asked = new Set(pids);
    for (const p of table.processes) if (asked.has(p.pid)) statuses.set(p.pid, { pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: true });
    return statuses;
  };
  const readStatus = async (pid: number): Promise<ProcessStatus | undefined> => {
    const status = (await readStatuses([pid])).get(pid);
    if (status === null) throw new ProcessUnreadableError(pid, undefined, `cannot read process ${pid}: no process source answered`);
    return status;
  };

  return {
    platform: 'windows',
    readsEnvironment: false,
    readProcessTable,
    readStatus,
    readStatuses,
    async readChildren(pids) {
      const parents = new Set(pids);
      const { table } = await read();
      return table.processes.filter((p) => parents.has(p.ppid)).map((p) => ({ pid: p.pid, ppid: p.ppid, startTime: p.startTime, alive: true }));
    },
    readEnvMarkers: async () => undefined, // another process's environment needs native code on Windows
    selfIdentity() {
      if (!self) {
        const query = CIM_COMMAND.replace('Win32_Process', `Win32_Process -Filter "ProcessId=${process.pid}"`);
        let startTime = 0;
        try {
          const [p] = parseCimTable(
            childProcess().execFileSync('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', query], { encoding: 'utf8', windowsHide: true, timeout: timeoutMs }),
          ).processes;
          startTime = p?.startTime ?? 0;
        } catch {
          // without PowerShell the tag's owner is named by pid alone (start time 0)
        }
        self = { pid: process.pid, startTime };
      }
      return self;
    },
    startTimeToEpochMs: (startTime) => startTime,
  };
}
