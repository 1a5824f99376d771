// Presentation for people: megabytes, process trees, tables. No decisions are made here.
import type { ReapOutcome } from '../operations/reap.js';
import type { TaskReport } from '../operations/run-tracked.js';
import type { ScanReport } from '../operations/scan-machine.js';
import type { LeakGroup } from '../rules/machine-leaks.js';
import { totalMemoryMB } from '../rules/memory.js';
import { escapeUnprintable } from '../text.js';
import type { AttributedProcess, LeakCost, ProcessInfo, ProcessSnapshot } from '../types.js';
import { costTotals, formatEndpoint } from '../rules/cost.js';
import { BYTES_PER_MB } from '../rules/memory.js';
import { processTree } from '../rules/tree.js';

export function formatMB(mb: number): string {
  return `${mb.toFixed(1)} MB`;
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

function processLine(p: ProcessInfo & { evidence?: string[]; cost?: LeakCost }, tree: string): string {
  const pid = String(p.pid).padStart(7);
  const mem = formatMB(p.memoryMB).padStart(10);
  const mcp = p.isMCP ? '[MCP] ' : '      ';
  const evidence = p.evidence && p.evidence.length > 0 ? `  (${p.evidence.join(', ')})` : '';
  const flags: string[] = [];
  if (p.cost?.listening?.length) flags.push(`listening on ${p.cost.listening.map(formatEndpoint).join(', ')}`);
  if (p.cost?.spinning) flags.push(`SPINNING ${p.cost.cpuPercent}% CPU`);
  return `${pid} ${mem} ${mcp}${tree}${escapeUnprintable(p.command)}${evidence}${flags.length > 0 ? `  ${flags.join('; ')}` : ''}`;
}

/** `612.0 MB (RSS 1302.0 MB)`: what ending them gives back (PSS) where it is known, RSS beside it; RSS alone elsewhere. */
export function memoryText(processes: readonly { memoryMB: number; memoryBytes?: number; cost?: LeakCost }[]): string {
  const t = costTotals(processes);
  if (t.pssUnknown === processes.length) return formatMB(t.rssBytes / BYTES_PER_MB);
  const unknown = t.pssUnknown > 0 ? `; ${t.pssUnknown} unreadable, counted by RSS` : '';
  return `${formatMB(t.pssBytes / BYTES_PER_MB)} (RSS ${formatMB(t.rssBytes / BYTES_PER_MB)}${unknown})`;
}

/** `, 1 spinning at 100% CPU` when some process of the set burns a core. */
function spinningText(processes: readonly (ProcessInfo & { cost?: LeakCost })[]): string {
  const spinning = processes.filter((p) => p.cost?.spinning);
  return spinning.length > 0 ? `, ${spinning.length} spinning at ${spinning.map((p) => `${p.cost!.cpuPercent}%`).join(', ')} CPU` : '';
}

/** Lines of a tree drawing: pid, memory, [MCP], then the command indented under its parent; largest subtree first. */
export function renderTree(processes: readonly (ProcessInfo & { evidence?: string[] })[], indent = ''): string[] {
  const lines: string[] = [];
  const walk = (node: TreeNode<ProcessInfo>, prefix: string, last: boolean, top: boolean): void => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    lines.push(`${indent}${processLine(node.process, prefix + branch)}`);
    const next = top ? prefix : prefix + (last ? '   ' : '│  ');
    node.children.forEach((child, i) => walk(child, next, i === node.children.length - 1, false));
  };
  for (const root of buildForest(processes)) walk(root, '', true, true);
  return lines;
}

function section(title: string, processes: readonly AttributedProcess[]): string[] {
  if (processes.length === 0) return [];
  const noun = processes.length === 1 ? 'process' : 'processes';
  return [`${title}: ${processes.length} ${noun}, ${memoryText(processes)}${spinningText(processes)}`, ...renderTree(processes)];
}

/** The human summary after a run; empty when nothing was left. */
export function renderRunSummary(report: TaskReport): string {
  const lines = [
    ...section('rtrack: the task left running', report.orphans),
    ...section('rtrack: orphaned meanwhile but not attributed to the task (suspects, not touched)', report.suspects),
    ...section('rtrack: kept (declared to outlive the task, not touched)', report.kept),
  ];
  const text = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  return report.reaped && report.reaped.length > 0 ? text + renderReapOutcomes(report.reaped) : text;
}

export function renderSnapshotTable(snapshot: ProcessSnapshot, processes: readonly ProcessInfo[]): string {
  const header = `${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'MEM MB'.padStart(9)} MCP COMMAND`;
  const rows = processes.map(
    (p) => `${String(p.pid).padStart(7)} ${String(p.ppid).padStart(7)} ${p.memoryMB.toFixed(1).padStart(9)} ${p.isMCP ? 'yes' : '   '} ${escapeUnprintable(p.command)}`,
  );
  const shownMB = totalMemoryMB(processes);
  const footer =
    processes.length === snapshot.processCount
      ? `${snapshot.processCount} processes, ${formatMB(snapshot.totalMemoryMB)}`
      : `${processes.length} of ${snapshot.processCount} processes shown, ${formatMB(shownMB)} of ${formatMB(snapshot.totalMemoryMB)}`;
  return `${[header, ...rows, footer].join('\n')}\n`;
}

/** What reaping would do, for --dry-run: nothing is signalled. */
export function renderReapPlan(ordered: readonly ProcessInfo[], graceMs: number): string {
  const lines = [`rtrack: dry run — would send SIGTERM to ${ordered.length} processes in this order, then SIGKILL to survivors after ${graceMs} ms:`];
  for (const p of ordered) lines.push(`  ${String(p.pid).padStart(7)} ${escapeUnprintable(p.command)}`);
  return `${lines.join('\n')}\n`;
}

export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function groupLines(groups: readonly LeakGroup[], label: (g: LeakGroup) => string): string[] {
  const lines: string[] = [];
  for (const g of groups) {
    lines.push(`  ${label(g)}: ${g.processes.length} ${g.processes.length === 1 ? 'process' : 'processes'}, ${memoryText(g.processes)}${spinningText(g.processes)}, age ${formatAge(g.ageSeconds)}`);
    lines.push(...renderTree(g.processes, '  '));
  }
  return lines;
}

const countOf = (groups: readonly LeakGroup[]): number => groups.reduce((s, g) => s + g.processes.length, 0);

/** The human view of a machine scan. */
/** ` of pid namespace N` for a run that was inside a container; its pid means nothing out here. */
function foreignNamespace(scan: ScanReport, group: LeakGroup): string {
  const ns = group.owner?.pidNamespace;
  return ns !== undefined && ns !== scan.pidNamespace ? ` of pid namespace ${ns}` : '';
}

const CERTAIN_TITLE = 'certain leaks (of runs and agent sessions that are over)';

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

export function renderScan(scan: ScanReport): string {
  const lines: string[] = [];
  lines.push(`rtrack scan: ${scan.processCount} processes, ${formatMB(scan.totalMemoryMB)}; MCP/browser: ${scan.mcpProcessCount} processes, ${formatMB(scan.mcpMemoryMB)}`);
  for (const w of scan.warnings) lines.push(`warning: ${w}`);
  if (scan.certain.length === 0) lines.push(`${CERTAIN_TITLE}: none`);
  else {
    lines.push(`${CERTAIN_TITLE}: ${countOf(scan.certain)} processes in ${scan.certain.length} groups, ${memoryText(scan.certain.flatMap((g) => g.processes))}`);
    lines.push(...groupLines(scan.certain, certainLabel(scan)));
  }
  if (scan.suspected.length === 0) lines.push('suspected leaks (re-parented trees that look like agent helpers): none');
  else {
    lines.push(`suspected leaks (re-parented trees that look like agent helpers): ${countOf(scan.suspected)} processes in ${scan.suspected.length} trees, ${memoryText(scan.suspected.flatMap((g) => g.processes))}`);
    lines.push(...groupLines(scan.suspected, (g) => `tree of ${g.root.pid}`));
  }
  const leftover = scan.leftoverCgroups.filter((g) => g.runOver);
  if (leftover.length > 0) {
    lines.push(`leftover cgroups of runs that are over (scan --reap removes them): ${leftover.length}`);
    for (const g of leftover) lines.push(`  ${escapeUnprintable(g.path)}: ${g.members} ${g.members === 1 ? 'process' : 'processes'}`);
  }
  if (scan.kept.length > 0) {
    lines.push(`kept (declared to outlive their task, not leaks): ${scan.kept.length} processes, ${formatMB(totalMemoryMB(scan.kept))}`);
    lines.push(...renderTree(scan.kept, '  '));
  }
  return `${lines.join('\n')}\n`;
}

/** `rtrack scan --port N`: the leaks that hold the port, each with its group. */
export function renderPortHolders(port: number, holders: readonly { group: LeakGroup; kind: 'certain' | 'suspected'; process: ProcessInfo }[]): string {
  if (holders.length === 0) return `rtrack: no leak listens on port ${port}\n`;
  const lines = holders.map(
    ({ group, kind, process: p }) => `port ${port}: ${kind} leak ${p.pid} ${escapeUnprintable(p.command)} (${group.session ? `${group.session.agent} session ${group.session.sessionId}` : group.tag ? `tag ${group.tag}` : `tree of ${group.root.pid}`})`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderReapOutcomes(outcomes: readonly ReapOutcome[]): string {
  const lines = ['rtrack: reaped:'];
  for (const r of outcomes) {
    const signals = r.signals.length > 0 ? ` (${r.signals.join(' → ')})` : '';
    lines.push(`${String(r.pid).padStart(7)} ${`${r.result}${signals}`.padEnd(30)} ${escapeUnprintable(r.command)}`);
  }
  return `${lines.join('\n')}\n`;
}
