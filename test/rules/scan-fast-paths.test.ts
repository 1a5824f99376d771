// Rules that run for every process of every watch scan were rewritten to make no garbage (#36, the
// watch's cost): each gives what the plain version gave, on any input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byPid } from '../../src/rules/identity.js';
import { isTerminalMultiplexer } from '../../src/rules/liveness.js';
import { fullCommand } from '../../src/rules/patterns.js';
import { SHARED_HOSTS, sharedHostKind } from '../../src/rules/whole-evidence.js';
import { processTree } from '../../src/rules/tree.js';
import type { ProcessInfo } from '../../src/types.js';

const info = (pid: number, ppid: number, commandLine: string): ProcessInfo => ({ pid, ppid, command: commandLine.slice(0, 100), commandLine, memoryMB: 1, isMCP: false, startTime: pid });

describe('fast paths', () => {
  it('sharedHostKind: the basename of the first word (a trailing `:` dropped, any case) names a multiplexer, as split and slice said', () => {
    const plain = (p: ProcessInfo): string | undefined => {
      const argv0 = fullCommand(p).split(' ', 1)[0]!.replace(/:$/, '');
      const base = argv0.slice(argv0.lastIndexOf('/') + 1).toLowerCase();
      return SHARED_HOSTS.includes(base) ? base : undefined;
    };
    const word = fc.constantFrom('tmux', '/usr/bin/tmux', 'tmux:', 'SCREEN', 'screen', 'dtach', 'zellij', 'abduco', 'tmuxx', 'xtmux', '/tmux', 'tmux/', '', ' ', '/', ':', 'a/tmux', 'bash');
    fc.assert(fc.property(fc.array(word, { maxLength: 3 }).map((w) => w.join(' ')), fc.string(), (command, tail) => {
      const p = info(2, 1, command + tail);
      expect(sharedHostKind(p)).toBe(plain(p));
      expect(isTerminalMultiplexer(p)).toBe(plain(p) !== undefined);
    }));
  });

  it('byPid and processTree are made once per array, and again when the array changes', () => {
    const processes = [info(2, 1, 'a'), info(3, 2, 'b')];
    expect(byPid(processes)).toBe(byPid(processes));
    expect(processTree(processes)).toBe(processTree(processes));
    const before = byPid(processes);
    processes.push(info(4, 3, 'c'));
    expect(byPid(processes)).not.toBe(before);
    expect([...byPid(processes).keys()]).toEqual([2, 3, 4]);
    expect(processTree(processes).children.get(3)!.map((p) => p.pid)).toEqual([4]);
    processes[2] = info(5, 2, 'd');
    expect([...byPid(processes).keys()]).toEqual([2, 3, 5]);
    expect(processTree(processes).children.get(3)).toBeUndefined();
  });
});
