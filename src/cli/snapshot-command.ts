// `rtrack snapshot [--json] [--sort pid|memory] [--mcp]`: every process, as a table or JSON.
import { totalMemoryMB } from '../rules/memory.js';
import { takeSnapshot } from '../tracking/snapshot.js';
import { renderSnapshotTable } from './present.js';
import { terminalLayout } from './terminal-layout.js';

export interface SnapshotOptions {
  json?: boolean;
  sort?: 'pid' | 'memory';
  mcp?: boolean;
}

export async function snapshotCommand(options: SnapshotOptions): Promise<number> {
  const snapshot = await takeSnapshot();
  let processes = options.mcp ? snapshot.processes.filter((p) => p.isMCP) : [...snapshot.processes];
  processes = options.sort === 'memory' ? processes.sort((a, b) => b.memoryMB - a.memoryMB || a.pid - b.pid) : processes.sort((a, b) => a.pid - b.pid);
  if (options.json) {
    const shown = options.mcp ? { ...snapshot, processes, processCount: processes.length, totalMemoryMB: totalMemoryMB(processes) } : { ...snapshot, processes };
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else {
    process.stdout.write(renderSnapshotTable(snapshot, processes, await terminalLayout(process.stdout)));
  }
  return 0;
}
