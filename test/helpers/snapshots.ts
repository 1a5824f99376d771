// Plain snapshots for rule tests.
import type { ProcessInfo, ProcessSnapshot } from '../../src/types.js';
import { isMCPProcess } from '../../src/rules/patterns.js';

export function proc(pid: number, ppid: number, command = `proc${pid}`, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, command, memoryMB: 10, isMCP: isMCPProcess(command), startTime: pid * 10, ...extra };
}

export function snap(processes: ProcessInfo[]): ProcessSnapshot {
  return {
    timestamp: new Date(0),
    processes,
    totalMemoryMB: processes.reduce((s, p) => s + p.memoryMB, 0),
    processCount: processes.length,
  };
}
