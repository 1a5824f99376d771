// Reads what reported leaks cost — PSS/USS, CPU, listening ports — for those processes only, so a
// run that leaks nothing pays nothing. CPU share comes from two readings `sampleMs` apart.
import { platformReader } from '../platform/index.js';
import type { PlatformReader } from '../platform/types.js';
import { cpuPercent, SPINNING_PERCENT } from '../rules/cost.js';
import type { AttributedProcess, LeakCost } from '../types.js';

/** Fills in `cost` on each process (in place); a process that cannot be read gets what could be. */
export async function measureCosts(processes: readonly AttributedProcess[], options: { reader?: PlatformReader; sampleMs?: number } = {}): Promise<void> {
  if (processes.length === 0) return;
  const reader = options.reader ?? platformReader();
  if (!reader.readCpuSeconds && !reader.readMemoryFootprint) return; // this OS tells no more than RSS
  const sampleMs = options.sampleMs ?? 200;
  const pids = processes.map((p) => p.pid);
  const before = new Map(pids.map((pid) => [pid, reader.readCpuSeconds?.(pid)]));
  const t0 = performance.now();
  if (sampleMs > 0) await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const elapsed = performance.now() - t0;
  const listening = reader.readListeningSockets?.(pids) ?? new Map();
  for (const p of processes) {
    const cost: LeakCost = {};
    const memory = reader.readMemoryFootprint?.(p.pid);
    if (memory) {
      cost.pssBytes = memory.pssBytes;
      cost.ussBytes = memory.ussBytes;
    } else cost.memoryUnreadable = true;
    const cpuBefore = before.get(p.pid);
    const cpuAfter = reader.readCpuSeconds?.(p.pid);
    if (cpuAfter !== undefined) cost.cpuSeconds = Math.round(cpuAfter * 100) / 100;
    if (cpuBefore !== undefined && cpuAfter !== undefined && sampleMs > 0) {
      cost.cpuPercent = Math.round(cpuPercent(cpuBefore, cpuAfter, elapsed));
      cost.spinning = cost.cpuPercent >= SPINNING_PERCENT;
    }
    const ports = listening.get(p.pid);
    if (ports && ports.length > 0) cost.listening = ports;
    p.cost = cost;
  }
}
