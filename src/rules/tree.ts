// Process trees, built one way for everyone: the scan's leak groups, the reaping order, and the
// trees people read. Pure.
import type { ProcessInfo } from '../types.js';
import { byPid, madeOf, parentOf, type Made } from './identity.js';

export interface ProcessTree<T extends ProcessInfo> {
  /** Processes whose parent is not among them (or is not their parent: see parentOf). */
  roots: T[];
  /** Children of each pid, in input order. */
  children: Map<number, T[]>;
}

/**
 * The forest of the given processes. A parent is the process holding the child's ppid, unless it
 * started after the child (then the pid was reused). Inconsistent input — a cycle, which real
 * tables cannot hold but a table read across a pid reuse might — is broken at one of its members,
 * which becomes a root: every process is in the forest exactly once, and walks always end.
 */
export function processTree<T extends ProcessInfo>(processes: readonly T[]): ProcessTree<T> {
  return madeOf(processes, treesMade, () => buildTree(processes)) as ProcessTree<T>;
}
const treesMade: Made<ProcessTree<ProcessInfo>> = new WeakMap();

function buildTree<T extends ProcessInfo>(processes: readonly T[]): ProcessTree<T> {
  const live = byPid(processes);
  const parent = new Map<number, number>();
  const roots: T[] = [];
  for (const p of processes) {
    const q = parentOf(p, live as Map<number, ProcessInfo>);
    if (q) parent.set(p.pid, q.pid);
    else roots.push(p);
  }
  // Members of cycles are reachable from no root: cut each cycle at one member.
  const reached = new Set<number>();
  const children = (): Map<number, T[]> => {
    const map = new Map<number, T[]>();
    for (const p of processes) {
      const up = parent.get(p.pid);
      if (up === undefined) continue;
      const list = map.get(up);
      if (list) list.push(p);
      else map.set(up, [p]);
    }
    return map;
  };
  let map = children();
  const reach = (root: T): void => {
    const stack = [root];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (reached.has(p.pid)) continue;
      reached.add(p.pid);
      for (const c of map.get(p.pid) ?? []) stack.push(c);
    }
  };
  for (const r of roots) reach(r);
  if (reached.size < live.size) {
    for (const p of processes) {
      if (reached.has(p.pid)) continue;
      parent.delete(p.pid);
      roots.push(p);
      map = children();
      reach(p);
    }
  }
  return { roots, children: map };
}

/**
 * `root` and its descendants, parents before children. A process for which `include` is false is
 * left out with its whole subtree.
 */
export function subtree<T extends ProcessInfo>(tree: ProcessTree<T>, root: T, include: (p: T) => boolean = () => true): T[] {
  const out: T[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (!include(p)) continue;
    out.push(p);
    const kids = tree.children.get(p.pid) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/** Roots first, then their children, depth by depth; within a depth by pid. */
export function levelOrder<T extends ProcessInfo>(tree: ProcessTree<T>): T[] {
  const out: T[] = [];
  let level = [...tree.roots];
  while (level.length > 0) {
    level.sort((a, b) => a.pid - b.pid);
    out.push(...level);
    level = level.flatMap((p) => tree.children.get(p.pid) ?? []);
  }
  return out;
}
