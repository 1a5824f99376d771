// Presentation for people: megabytes, process trees, tables. No decisions are made here.
//
// Output is built as lines of two kinds: prose (titles, totals) and process rows. Piped, each is
// printed whole, the command before its evidence and ports. On a terminal (`Layout`), every line
// fits its width: prose wraps, and rows become columns under one header — pid, memory, evidence,
// ports — with the command last, cut with an ellipsis.
import type { ReapOutcome } from '../operations/reap.js';
import type { TaskReport } from '../operations/run-tracked.js';
import type { ScanReport } from '../operations/scan-machine.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
import type { PortHolder } from '../rules/port-holders.js';
import { totalMemoryMB } from '../rules/memory.js';
import { escapeUnprintable, shellQuote } from '../text.js';
import type { AttributedProcess, LeakCost, ProcessInfo, ProcessSnapshot, ProcessUser } from '../types.js';
import { notReapedText, type NotReaped } from '../rules/not-reaped.js';
import { canSignal, userText } from '../rules/users.js';
import { costTotals, formatEndpoint } from '../rules/cost.js';
import { BYTES_PER_MB } from '../rules/memory.js';
import { processTree } from '../rules/tree.js';
import { formatDuration } from './common.js';

/** A terminal to fit: its width, and text measured, cut and wrapped by display width (src/cli/terminal-layout.ts). */
export interface Layout {
  width: number;
  textWidth(text: string): number;
  /** The text cut to `columns`, an ellipsis at the end. */
  cut(text: string, columns: number): string;
  /** The text wrapped at `columns` (long words broken). */
  wrap(text: string, columns: number): string;
}

/** `1 process`, `2 processes`. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

export function formatMB(mb: number): string {
  return `${mb.toFixed(1)} MB`;
}

/** One process as a row: the command last; on a terminal its evidence, ports and result come first, in columns. */
interface Row {
  indent: string;
  pid: number;
  /** The user it runs as, when the output shows users (root's scan, --all-users, another user's process). */
  user?: string;
  /** `3.0 MB PSS`, or `1.6 MB RSS` where PSS is not known. */
  memory?: string;
  mcp?: boolean;
  /** The tree drawing before the command (`└─ `). */
  tree: string;
  command: string;
  evidence?: string[];
  ports?: string[];
  cpu?: string;
  /** What reaping did, or would do. */
  result?: string;
}

type Line = string | Row;

const isRow = (line: Line): line is Row => typeof line !== 'string';

/** The memory a row shows: PSS — what ending it gives back — where it was read, RSS where not; labelled. */
function processMemory(p: { memoryMB: number; cost?: LeakCost }): string {
  return p.cost?.pssBytes !== undefined ? `${formatMB(p.cost.pssBytes / BYTES_PER_MB)} PSS` : `${formatMB(p.memoryMB)} RSS`;
}

/** What a row shows of a process (a journal entry's leaked processes carry no more). */
type Shown = Pick<ProcessInfo, 'pid' | 'command' | 'memoryMB'> & { commandLine?: string; isMCP?: boolean; evidence?: string[]; cost?: LeakCost; user?: ProcessUser };

/** The command a row shows: the whole command line where it was read (piped, printed whole; on a terminal, cut to fit), else the 100-character display form. */
const wholeCommand = (p: { command: string; commandLine?: string }): string => escapeUnprintable(p.commandLine ?? p.command);

function processRow(p: Shown, tree: string, indent = '', users = false): Row {
  const row: Row = { indent, pid: p.pid, memory: processMemory(p), mcp: p.isMCP ?? false, tree, command: wholeCommand(p) };
  if (users) row.user = p.user ? escapeUnprintable(userText(p.user)) : '?';
  if (p.evidence && p.evidence.length > 0) row.evidence = p.evidence;
  if (p.cost?.listening?.length) row.ports = p.cost.listening.map(formatEndpoint);
  if (p.cost?.spinning) row.cpu = `SPINNING ${p.cost.cpuPercent}% CPU`;
  return row;
}

/** A row as it was always printed: pid, memory, [MCP], the command, then evidence and ports. */
function pipedRow(r: Row): string {
  const parts = [`${r.indent}${String(r.pid).padStart(7)} `];
  if (r.user !== undefined) parts.push(`${r.user.padEnd(8)} `);
  if (r.memory !== undefined) parts.push(`${r.memory.padStart(14)} `);
  if (r.mcp !== undefined) parts.push(r.mcp ? '[MCP] ' : '      ');
  parts.push(r.tree, r.command);
  if (r.evidence) parts.push(`  (${r.evidence.join(', ')})`);
  const flags = [...(r.ports ? [`listening on ${r.ports.join(', ')}`] : []), ...(r.cpu ? [r.cpu] : [])];
  if (flags.length > 0) parts.push(`  ${flags.join('; ')}`);
  if (r.result !== undefined) parts.push(` → ${r.result}`);
  return parts.join('');
}

/** Columns shown on a terminal, each only when some row has it; the command always last. */
const COLUMNS: { header: string; cell: (r: Row) => string | undefined; right?: boolean; max: number }[] = [
  { header: 'PID', cell: (r) => String(r.pid), right: true, max: 10 },
  { header: 'USER', cell: (r) => r.user, max: 12 },
  { header: 'MEMORY', cell: (r) => r.memory, right: true, max: 16 },
  { header: 'EVIDENCE', cell: (r) => r.evidence?.join(', '), max: 24 },
  { header: 'LISTENING ON', cell: (r) => r.ports?.join(', '), max: 24 },
  { header: 'CPU', cell: (r) => r.cpu, max: 18 },
  { header: 'RESULT', cell: (r) => r.result, max: 28 },
];
/** A command is given at least this many columns, narrowing the others first. */
const MIN_COMMAND = 24;

/** The text in at most `columns` columns: cut with an ellipsis, shorter again where the cut still measures wider (an emoji). */
function cutTo(layout: Layout, text: string, columns: number): string {
  let cut = text;
  for (let room = columns; layout.textWidth(cut) > columns && room > 0; room--) cut = layout.cut(text, room);
  return cut;
}

/** Every line fitted to the terminal: prose wrapped (continuations indented), rows in columns under one header, commands cut. */
function fitLines(lines: readonly Line[], layout: Layout): string[] {
  const rows = lines.filter(isRow);
  const shown = COLUMNS.filter((c) => rows.some((r) => c.cell(r) !== undefined));
  const widths = shown.map((c) => Math.min(c.max, Math.max(layout.textWidth(c.header), ...rows.map((r) => layout.textWidth(c.cell(r) ?? '')))));
  const indent = Math.max(0, ...rows.map((r) => r.indent.length));
  const mcp = rows.some((r) => r.mcp) ? 6 : 0;
  // Narrow the widest columns (not the pid) until the command has its share of the line.
  const used = (): number => indent + widths.reduce((s, w) => s + w + 2, 0) + mcp;
  while (layout.width - used() < MIN_COMMAND) {
    let widest = 1;
    for (let i = 2; i < widths.length; i++) if (widths[i]! > widths[widest]!) widest = i;
    if (widest >= widths.length || widths[widest]! <= 6) break;
    widths[widest]!--;
  }
  const cell = (text: string, i: number): string => {
    const w = widths[i]!;
    const fitted = cutTo(layout, text, w);
    const pad = ' '.repeat(Math.max(0, w - layout.textWidth(fitted)));
    return shown[i]!.right ? pad + fitted : fitted + pad;
  };
  const fitRow = (text: string): string => cutTo(layout, text, layout.width);
  const out: string[] = [];
  let headed = false;
  for (const line of lines) {
    if (!isRow(line)) {
      const lead = /^ */.exec(line)![0];
      const room = Math.max(20, layout.width - lead.length - 2);
      const wrapped = layout.wrap(line.slice(lead.length), room).split('\n');
      out.push(...wrapped.map((w, i) => fitRow(`${lead}${i === 0 ? '' : '  '}${w}`)));
      continue;
    }
    const pad = ' '.repeat(indent);
    if (!headed) {
      out.push(fitRow(`${pad}${shown.map((c, i) => cell(c.header, i)).join('  ')}  ${mcp > 0 ? 'MCP   ' : ''}COMMAND`.trimEnd()));
      headed = true;
    }
    const cells = shown.map((c, i) => cell(c.cell(line) ?? '', i)).join('  ');
    out.push(fitRow(`${pad}${cells}  ${mcp > 0 ? (line.mcp ? '[MCP] ' : '      ') : ''}${line.tree}${line.command}`));
  }
  return out;
}

/** The lines as text: piped, each whole; on a terminal, fitted to it. */
function render(lines: readonly Line[], layout?: Layout): string {
  if (lines.length === 0) return '';
  const text = layout ? fitLines(lines, layout) : lines.map((l) => (isRow(l) ? pipedRow(l) : l));
  return `${text.join('\n')}\n`;
}

/** Lines of prose: piped, each whole; on a terminal, wrapped to its width. */
export function renderProse(lines: readonly string[], layout?: Layout): string {
  return render(lines, layout);
}

interface TreeNode<T extends ProcessInfo> {
  process: T;
  children: TreeNode<T>[];
  totalMB: number;
}

/** The forest of the given processes (a process whose parent is not among them is a root), largest subtree first. */
export function buildForest<T extends ProcessInfo>(processes: readonly T[]): TreeNode<T>[] {
  const tree = processTree(processes);
  const node = (p: T): TreeNode<T> => {
    const children = (tree.children.get(p.pid) ?? []).map(node).sort((a, b) => b.totalMB - a.totalMB);
    return { process: p, children, totalMB: p.memoryMB + children.reduce((s, c) => s + c.totalMB, 0) };
  };
  return tree.roots.map(node).sort((a, b) => b.totalMB - a.totalMB);
}

/**
 * What ending these processes gives back, labelled: `612.0 MB PSS, RSS 1302.0 MB` — PSS where it
 * is known, RSS beside it; RSS alone where no PSS could be read. `explain` says what PSS means.
 */
export function memoryText(processes: readonly { memoryMB: number; memoryBytes?: number; cost?: LeakCost }[], explain = false): string {
  const t = costTotals(processes);
  if (t.pssUnknown === processes.length) return `${formatMB(t.rssBytes / BYTES_PER_MB)} RSS`;
  // Unreadable (another user's), or not read (scan reads the cost of the largest suspected trees only).
  const notRead = processes.filter((p) => p.cost === undefined).length;
  const unreadable = t.pssUnknown - notRead;
  const notes = [
    ...(explain ? ['what ending it gives back'] : []),
    ...(unreadable > 0 ? [`${unreadable} unreadable, counted by RSS`] : []),
    ...(notRead > 0 ? [`${notRead} not read, counted by RSS`] : []),
  ];
  return `${formatMB(t.pssBytes / BYTES_PER_MB)} PSS${notes.length > 0 ? ` (${notes.join('; ')})` : ''}, RSS ${formatMB(t.rssBytes / BYTES_PER_MB)}`;
}

/** `, 1 spinning at 100% CPU` when some process of the set burns a core. */
function spinningText(processes: readonly (ProcessInfo & { cost?: LeakCost })[]): string {
  const spinning = processes.filter((p) => p.cost?.spinning);
  return spinning.length > 0 ? `, ${spinning.length} spinning at ${spinning.map((p) => `${p.cost!.cpuPercent}%`).join(', ')} CPU` : '';
}

/** Rows of a tree drawing: the command indented under its parent (`└─`, `├─`); largest subtree first. */
/**
 * Why a process is only a suspect although it carries what would attribute it (`suspectBecause`), or
 * kept by something other than its own marker (`keepBecause`): a line under its row.
 */
function noteOf(p: ProcessInfo & { suspectBecause?: string; keepBecause?: string }, indent: string): string[] {
  const why = p.suspectBecause !== undefined ? `not certain: ${p.suspectBecause}` : p.keepBecause !== undefined ? `kept: ${p.keepBecause}` : undefined;
  return why === undefined ? [] : [`${indent}        ${escapeUnprintable(why)}`];
}

function treeRows(processes: readonly (ProcessInfo & { evidence?: string[]; suspectBecause?: string; keepBecause?: string })[], indent = '', users = false): Line[] {
  // A tree of one (most suspected trees: a re-parented server) is its row: no forest to build.
  if (processes.length === 1) return [processRow(processes[0]!, '', indent, users), ...noteOf(processes[0]!, indent)];
  const rows: Line[] = [];
  const walk = (node: TreeNode<ProcessInfo>, prefix: string, last: boolean, top: boolean): void => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    rows.push(processRow(node.process, prefix + branch, indent, users), ...noteOf(node.process, indent));
    const next = top ? prefix : prefix + (last ? '   ' : '│  ');
    node.children.forEach((child, i) => walk(child, next, i === node.children.length - 1, false));
  };
  for (const root of buildForest(processes)) walk(root, '', true, true);
  return rows;
}

function section(title: string, processes: readonly AttributedProcess[], explain: boolean): Line[] {
  if (processes.length === 0) return [];
  return [`${title}: ${counted(processes.length, 'process', 'processes')}, ${memoryText(processes, explain)}${spinningText(processes)}`, ...treeRows(processes)];
}

/** The human summary after a run; empty when nothing was left. */
export function renderRunSummary(report: TaskReport, layout?: Layout): string {
  const lines: Line[] = [
    ...section('rtrack: the task left running', report.orphans, true),
    ...section('rtrack: suspects — orphaned meanwhile, not the task\'s for certain (not touched)', report.suspects, report.orphans.length === 0),
    ...section('rtrack: kept (declared to outlive the task, not touched)', report.kept, report.orphans.length + report.suspects.length === 0),
  ];
  return render(lines, layout) + (report.reaped && report.reaped.length > 0 ? renderReapOutcomes(report.reaped, layout, report.orphans) : '');
}

export function renderSnapshotTable(snapshot: ProcessSnapshot, processes: readonly ProcessInfo[], layout?: Layout): string {
  const header = `${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'RSS MB'.padStart(9)} MCP COMMAND`;
  const rows = processes.map(
    (p) => `${String(p.pid).padStart(7)} ${String(p.ppid).padStart(7)} ${p.memoryMB.toFixed(1).padStart(9)} ${p.isMCP ? 'yes' : '   '} ${wholeCommand(p)}`,
  );
  const shownMB = totalMemoryMB(processes);
  const footer =
    processes.length === snapshot.processCount
      ? `${counted(snapshot.processCount, 'process', 'processes')}, ${formatMB(snapshot.totalMemoryMB)} RSS`
      : `${processes.length} of ${counted(snapshot.processCount, 'process', 'processes')} shown, ${formatMB(shownMB)} of ${formatMB(snapshot.totalMemoryMB)} RSS`;
  // The command is the last column: on a terminal a row is cut to its width.
  const cut = (line: string): string => (layout ? cutTo(layout, line, layout.width) : line);
  return `${[header, ...rows].map(cut).join('\n')}\n${render([footer], layout)}`;
}

/** What reaping would do, for --dry-run: nothing is signalled. */
export function renderReapPlan(ordered: readonly ProcessInfo[], graceMs: number, layout?: Layout): string {
  const lines: Line[] = [`rtrack: dry run — would send SIGTERM to ${counted(ordered.length, 'process', 'processes')} in this order, then SIGKILL to survivors after ${formatDuration(graceMs)}:`];
  for (const p of ordered) lines.push({ ...processRow(p, '', '  '), mcp: undefined });
  return render(lines, layout);
}

export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function groupLines(groups: readonly LeakGroup[], label: (g: LeakGroup) => string, users = false): Line[] {
  const lines: Line[] = [];
  for (const g of groups) {
    lines.push(`  ${label(g)}: ${counted(g.processes.length, 'process', 'processes')}, ${memoryText(g.processes)}${spinningText(g.processes)}, age ${formatAge(g.ageSeconds)}`);
    lines.push(...treeRows(g.processes, '  ', users));
  }
  return lines;
}

const countOf = (groups: readonly LeakGroup[]): number => groups.reduce((s, g) => s + g.processes.length, 0);

/** ` of pid namespace N` for a run that was inside a container; its pid means nothing out here. */
function foreignNamespace(scan: ScanReport, group: LeakGroup): string {
  const ns = group.owner?.pidNamespace;
  return ns !== undefined && ns !== scan.pidNamespace ? ` of pid namespace ${ns}` : '';
}

const CERTAIN_TITLE = 'certain leaks (of runs and agent sessions that are over)';
const SUSPECTED_TITLE = 'suspected leaks (re-parented trees that look like agent helpers or listen on a port)';

/** `tag … (run pid N gone)`, or `claude-code session … (agent pid N gone)`. */
function certainLabel(scan: ScanReport): (g: LeakGroup) => string {
  return (g) => {
    if (g.session) {
      const s = g.session;
      const why =
        s.over === 'session-file-closed'
          ? 'no agent holds its session file'
          : s.over === 'agent-leaked'
            ? `its agent, pid ${s.agentPid}, is itself a leak`
            : s.agentPid !== undefined
              ? `agent pid ${s.agentPid} gone`
              : 'agent gone';
      return `${escapeUnprintable(s.agent)} session ${escapeUnprintable(s.sessionId)}${s.cwd ? ` in ${escapeUnprintable(s.cwd)}` : ''} (${why})`;
    }
    // A registered run is over when its owner is gone or ended the run; an unregistered one when its owner is gone.
    return `tag ${escapeUnprintable(g.tag ?? '')} (run pid ${g.owner?.pid}${foreignNamespace(scan, g)} ${g.owner?.registered ? 'over' : 'gone'})`;
  };
}

/** How a group is named in one line: its session, its tag, or its tree's root. */
function groupName(group: LeakGroup): string {
  if (group.session) return `${escapeUnprintable(group.session.agent)} session ${escapeUnprintable(group.session.sessionId)}`;
  return group.tag ? `tag ${escapeUnprintable(group.tag)}` : `tree of ${group.root.pid}`;
}

export function renderScan(scan: ScanReport, layout?: Layout): string {
  const lines: Line[] = [];
  // The count of the seed's pattern (the [MCP] mark) is labelled for what it matches: browsers and
  // browser automation, not MCP servers in general.
  lines.push(`rtrack scan: ${counted(scan.processCount, 'process', 'processes')}, ${formatMB(scan.totalMemoryMB)} RSS (browser automation: ${scan.mcpProcessCount}, ${formatMB(scan.mcpMemoryMB)})`);
  for (const w of scan.warnings) lines.push(`warning: ${w}`);
  const users = showsUsers(scan);
  let explained = false;
  const groupsHeader = (title: string, groups: readonly LeakGroup[], noun: string, plural?: string): string => {
    const text = `${title}: ${counted(countOf(groups), 'process', 'processes')} in ${counted(groups.length, noun, plural)}, ${memoryText(groups.flatMap((g) => g.processes), !explained)}`;
    explained = true;
    return text;
  };
  if (scan.certain.length === 0) lines.push(`${CERTAIN_TITLE}: none`);
  else {
    lines.push(groupsHeader(CERTAIN_TITLE, scan.certain, 'group'));
    lines.push(...groupLines(scan.certain, certainLabel(scan), users));
  }
  if (scan.suspected.length === 0) lines.push(`${SUSPECTED_TITLE}: none`);
  else {
    lines.push(groupsHeader(SUSPECTED_TITLE, scan.suspected, 'tree'));
    lines.push(...groupLines(scan.suspected, (g) => `tree of ${g.root.pid}`, users));
  }
  if (scan.otherUsers) {
    const o = scan.otherUsers;
    lines.push(`not shown: ${counted(o.groups, 'group')} of other users (${counted(o.processes, 'process', 'processes')}), which you cannot signal: rtrack scan --all-users shows them`);
  }
  const leftover = scan.leftoverCgroups.filter((g) => g.runOver);
  if (leftover.length > 0) {
    lines.push(`leftover cgroups of runs that are over (scan --reap removes them): ${leftover.length}`);
    for (const g of leftover) lines.push(`  ${escapeUnprintable(g.path)}: ${counted(g.members, 'process', 'processes')}`);
  }
  if (scan.kept.length > 0) {
    lines.push(`kept (declared to outlive their task, not leaks): ${counted(scan.kept.length, 'process', 'processes')}, ${formatMB(totalMemoryMB(scan.kept))} RSS`);
    lines.push(...treeRows(scan.kept, '  ', users));
  }
  return render(lines, layout);
}

/**
 * Whether a scan's rows show each process's user: root's scan (everyone's), --all-users, or a group
 * holding another user's process.
 */
function showsUsers(scan: ScanReport): boolean {
  const by = scan.scannedAs;
  if (!by) return false;
  if (by.uid === 0 || scan.whose === 'all') return true;
  return [...scan.certain, ...scan.suspected].some((g) => g.processes.some((p) => p.user !== undefined && p.user.uid !== by.uid)) || scan.kept.some((p) => p.user !== undefined && p.user.uid !== by.uid);
}

/** `--match` names processes that are not reaped: each, and why (the gate's words where it refuses it). */
export function renderNotReaped(pattern: string, entries: readonly (Pick<ProcessInfo, 'pid' | 'command'> & NotReaped)[], layout?: Layout): string {
  const lines: Line[] = [`rtrack: --match ${shellQuote(pattern)} names ${counted(entries.length, 'process', 'processes')} that ${entries.length === 1 ? 'is' : 'are'} not reaped:`];
  for (const e of entries) lines.push(`  ${e.pid} ${escapeUnprintable(e.command)}: ${escapeUnprintable(notReapedText(e))}`);
  return render(lines, layout);
}

/** The command that reaps suspected trees whose root command matches `pattern`: they are reaped only when named. */
export function reapCommandFor(pattern: string): string {
  return `rtrack scan --reap --match ${shellQuote(pattern)} --yes`;
}

/**
 * `scan --reap` found no certain leak: say so, and why the suspected trees listed above were left
 * alone, with the command that would reap each (its root named by `patterns`).
 */
export function renderNothingToReap(suspected: readonly { group: LeakGroup; pattern: string }[], layout?: Layout, othersTrees = 0): string {
  // Another user's trees (--all-users) are shown, never offered: that user alone (or root) may signal them.
  const others = othersTrees > 0 ? `; the ${counted(othersTrees, "other user's suspected tree", "other users' suspected trees")} above ${othersTrees === 1 ? 'is' : 'are'} not yours to signal` : '';
  if (suspected.length === 0) return render([`rtrack: nothing to reap: no certain leak (of a run or an agent session that is over)${others}`], layout);
  const lines: Line[] = [
    `rtrack: nothing to reap: scan --reap reaps only certain leaks${others}; the ${counted(suspected.length, 'suspected tree')} above ${suspected.length === 1 ? 'is' : 'are'} reaped only when you name ${suspected.length === 1 ? 'it' : 'them'}:`,
  ];
  for (const command of new Set(suspected.map((s) => reapCommandFor(s.pattern)))) lines.push(`  ${command}`);
  // A command to copy is never cut (on a terminal, terminal-layout.ts breaks it between its words).
  return layout ? `${fitLines([lines[0]!], layout).join('\n')}\n${lines.slice(1).join('\n')}\n` : render(lines);
}

/** `rtrack scan --port N`: whoever holds the port — a certain or suspected leak, a kept process, or a process that is neither. */
export function renderPortHolders(port: number, holders: readonly PortHolder[], unreadable: number, reapPattern: (group: LeakGroup) => string, layout?: Layout, by?: ProcessUser): string {
  if (holders.length === 0) {
    const why = unreadable > 0 ? ` (the sockets of ${counted(unreadable, 'process', 'processes')} could not be read: other users')` : '';
    return render([`rtrack: nothing listens on port ${port}${why}`], layout);
  }
  const lines: Line[] = [];
  const suggestions: string[] = [];
  for (const h of holders) {
    // Why it is not reaped, in the gate's words where the gate refuses it (in use by a live session, …).
    const why = h.notReaped ? escapeUnprintable(notReapedText(h.notReaped)) : undefined;
    const user = h.process.user && by && h.process.user.uid !== by.uid ? `, user ${escapeUnprintable(userText(h.process.user))}` : '';
    const what =
      h.kind === 'certain' || h.kind === 'suspected'
        ? `${h.kind} leak ${h.process.pid} (${groupName(h.group!)}${why ? `; ${why}` : ''})`
        : h.kind === 'kept'
          ? `kept process ${h.process.pid} (declared to outlive its task, not a leak)`
          : why
            ? `${h.process.pid}, ${why}`
            : `${h.process.pid}, not a leak (${h.parent ? `its parent ${h.parent.pid}, ${wholeCommand(h.parent)}, is alive` : 'not re-parented'})`;
    lines.push(`port ${port}: ${what}${user}, listening on ${h.listening.map(formatEndpoint).join(', ')}: ${wholeCommand(h.process)}`);
    if (!canSignal(by, h.process) || (h.notReaped && h.notReaped.kind !== 'not-named')) continue; // nothing to offer
    if (h.kind === 'certain') suggestions.push('rtrack scan --reap');
    if (h.kind === 'suspected') suggestions.push(reapCommandFor(reapPattern(h.group!)));
  }
  const text = layout ? fitLines(lines, layout).join('\n') : lines.join('\n');
  // A command to copy is never cut, on a line of its own (on a terminal, broken between its words).
  const reap = suggestions.length > 0 ? [`to reap ${holders.length === 1 ? 'it' : 'them'}:`, ...[...new Set(suggestions)].map((c) => `  ${c}`)] : [];
  return `${[text, ...reap].join('\n')}\n`;
}

/** What reaping did; `processes`, the processes reaped, give each its whole command line. */
export function renderReapOutcomes(outcomes: readonly ReapOutcome[], layout?: Layout, processes: readonly { pid: number; commandLine?: string }[] = []): string {
  const lines = new Map(processes.flatMap((p) => (p.commandLine === undefined ? [] : [[p.pid, p.commandLine] as const])));
  const command = (r: ReapOutcome): string => wholeCommand({ command: r.command, commandLine: lines.get(r.pid) });
  const results = outcomes.map((r) => ({ r, result: `${r.result}${r.signals.length > 0 ? ` (${r.signals.join(' → ')})` : ''}` }));
  // Piped, as always: pid, result, command.
  if (!layout) return `${['rtrack: reaped:', ...results.map(({ r, result }) => `${String(r.pid).padStart(7)} ${result.padEnd(30)} ${command(r)}`)].join('\n')}\n`;
  return render(['rtrack: reaped:', ...results.map(({ r, result }): Row => ({ indent: '', pid: r.pid, tree: '', command: command(r), result }))], layout);
}

/** A journal entry's processes as rows (sessions): memory, the command, evidence, ports, and what reaping did. */
export function renderLeftProcesses(header: string, processes: readonly Shown[], results: ReadonlyMap<number, string>, layout?: Layout): string {
  const lines: Line[] = [header];
  for (const p of processes) {
    const row = { ...processRow(p, '', '  '), mcp: undefined };
    const result = results.get(p.pid);
    lines.push(result === undefined ? row : { ...row, result });
  }
  return render(lines, layout);
}
