// `rtrack/parsers`: every OS's parser, usable on any OS (tests, recorded outputs).
// Each takes a command's (or /proc file's) text and returns ProcessInfo records; malformed lines
// are skipped, never fatal.
import { parsePsTable } from './platform/darwin.js';
import type { ParsedTable } from './platform/types.js';
import { parseCimTable, parseTasklistTable, parseWmicTable } from './platform/windows.js';
import { toProcessInfo } from './tracking/snapshot.js';
import type { ProcessInfo } from './types.js';

const convert = (table: ParsedTable): ProcessInfo[] => table.processes.map((raw) => toProcessInfo(raw));

/** macOS `ps -axww -o pid=,ppid=,rss=,lstart=,command=`. */
export const parsePsOutput = (text: string): ProcessInfo[] => convert(parsePsTable(text));
/** PowerShell `Get-CimInstance Win32_Process | Select-Object … | ConvertTo-Json -Compress`. */
export const parseCimJson = (text: string): ProcessInfo[] => convert(parseCimTable(text));
/** `wmic process get ProcessId,ParentProcessId,WorkingSetSize,CreationDate,Name,CommandLine /format:csv`. */
export const parseWmicCsv = (text: string): ProcessInfo[] => convert(parseWmicTable(text));
/** `tasklist /fo csv /nh` (no parent pids: ppid is -1). */
export const parseTasklistCsv = (text: string): ProcessInfo[] => convert(parseTasklistTable(text));
