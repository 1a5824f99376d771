// An orchestrator that lives for weeks (issue 33 "long life"): nothing may grow per task —
// descriptors, the heap, the library's objects. LONG_LIFE_TASKS tasks (npm test: 200; `npm run
// soak:library`: 2,000), a quarter of which fail to start, 4 at a time, through the built library in
// a process of their own (test/fixtures/tasks/many-tasks.mjs, with --expose-gc), compared between
// the first 100 tasks and the last.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessJar, runLibraryHost } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const TASKS = Number(process.env.LONG_LIFE_TASKS ?? 200);
const FIXTURE = fileURLToPath(new URL('../fixtures/tasks/many-tasks.mjs', import.meta.url));
const LIBRARY = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

const jar = new ProcessJar();
afterEach(() => jar.cleanup());

interface Checkpoint {
  done: number;
  fds: number;
  heapUsed: number;
  rss: number;
  instances?: Record<string, number>;
}

describe('long life', () => {
  it(`${TASKS} tasks, a quarter failing to start, 4 at a time: descriptors, heap and the library's objects stay flat`, async () => {
    const { code, out, err, left } = await runLibraryHost(jar, ['--expose-gc', FIXTURE, LIBRARY, String(TASKS), '4', tempDir('many-tasks')]);
    expect(code, err).toBe(0);
    expect(left).toEqual([]); // whatever happened, nothing of its tasks stays
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Checkpoint);
    const first = lines.find((l) => l.done === 100)!;
    const last = lines.at(-1)!;
    expect(last.done).toBe(TASKS);
    expect(last.fds).toBe(first.fds);
    for (const line of lines) expect(line.fds).toBe(first.fds);
    expect(last.instances).toEqual(first.instances);
    expect(last.instances?.Lineage).toBe(0);
    expect(last.instances?.RunCgroup).toBe(0);
    expect(last.instances?.ChildProcess).toBe(0);
    // What grows after a full GC is V8's compiled code warming up (about 0.3 MB over 2,000 tasks
    // here, all of it code and its metadata in a heap snapshot's diff), not data.
    expect(last.heapUsed - first.heapUsed).toBeLessThan(1.5 * 1024 * 1024);
  }, 600_000);
});
