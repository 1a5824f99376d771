import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keptPids } from '../../src/rules/keep.js';
import { levelOrder, processTree, subtree } from '../../src/rules/tree.js';
import { proc } from '../helpers/snapshots.js';

if (process.env.CI) fc.configureGlobal({ seed: 20261126 });

describe('processTree, the one process tree', () => {
  it('parents by ppid, unless the holder of that pid started after the child (a reused pid)', () => {
    const tree = processTree([proc(1, 0), proc(10, 1), proc(11, 10), proc(20, 10, 'x', { startTime: 5 })]);
    expect(tree.roots.map((p) => p.pid)).toEqual([1, 20]);
    expect(tree.children.get(10)!.map((p) => p.pid)).toEqual([11]);
  });

  it('levelOrder: roots first, then depth by depth, by pid within a depth', () => {
    const tree = processTree([proc(30, 20), proc(20, 10), proc(10, 1), proc(25, 10), proc(5, 99)]);
    expect(levelOrder(tree).map((p) => p.pid)).toEqual([5, 10, 20, 25, 30]);
  });

  it('subtree leaves out an excluded process with everything below it', () => {
    const all = [proc(1, 0), proc(2, 1), proc(3, 2), proc(4, 1)];
    const tree = processTree(all);
    expect(subtree(tree, all[0]!, (p) => p.pid !== 2).map((p) => p.pid)).toEqual([1, 4]);
  });

  it('a cycle (inconsistent input) is cut: every process appears once, and walks end', () => {
    const a = proc(7, 8, 'a', { startTime: 1 });
    const b = proc(8, 7, 'b', { startTime: 1 });
    const tree = processTree([a, b, proc(9, 8, 'c', { startTime: 2 })]);
    expect(levelOrder(tree).map((p) => p.pid).sort()).toEqual([7, 8, 9]);
  });

  it('property: any table, cycles included, gives every process exactly once, parents before children', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }), (rows) => {
        const seen = new Set<number>();
        const processes = rows.filter(([pid]) => !seen.has(pid) && seen.add(pid)).map(([pid, ppid, start]) => proc(pid, ppid, 'p', { startTime: start }));
        const tree = processTree(processes);
        const order = levelOrder(tree);
        expect(order.map((p) => p.pid).sort((x, y) => x - y)).toEqual(processes.map((p) => p.pid).sort((x, y) => x - y));
        const position = new Map(order.map((p, i) => [p.pid, i]));
        for (const [parent, kids] of tree.children) for (const k of kids) expect(position.get(parent)!).toBeLessThan(position.get(k.pid)!);
      }),
    );
  });
});

describe('keptPids: the one keep rule for snapshots', () => {
  it('a keep reason on a process keeps its whole subtree, and nothing else', () => {
    const all = [proc(1, 0), proc(10, 1, 'dev-server', { keepReason: 'env' }), proc(11, 10), proc(12, 11), proc(20, 1)];
    expect([...keptPids(processTree(all), all)].sort((a, b) => a - b)).toEqual([10, 11, 12]);
  });
});
