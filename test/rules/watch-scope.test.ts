// Whom a watch speaks for (rules/watch-scope.ts): its scope from its privileges, a user's port, the
// host's PID namespace, /etc/passwd, and each user's figures — summed over users, nothing twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePasswd } from '../../src/platform/users.js';
import { figuresByUser, isInitialPidNamespace, systemPrivileges, userPort, watchScope } from '../../src/rules/watch-scope.js';
import type { LeakGroup } from '../../src/rules/machine-leaks.js';
import type { AttributedProcess, ProcessInfo } from '../../src/types.js';

const caps = (...bits: number[]): bigint => bits.reduce((s, b) => s | (1n << BigInt(b)), 0n);

describe('scope', () => {
  it.each([
    ['root', { uid: 0 }, 'auto', 'system'],
    ['root asks for its own', { uid: 0 }, 'user', 'user'],
    ['a user', { uid: 1000, capabilities: 0n }, 'auto', 'user'],
    ['a user with CAP_SYS_PTRACE and CAP_KILL', { uid: 1000, capabilities: caps(19, 5) }, 'auto', 'system'],
    ['a user with CAP_SYS_PTRACE alone', { uid: 1000, capabilities: caps(19) }, 'auto', 'user'],
  ] as const)('%s: %s', (_, privileges, asked, scope) => {
    expect(watchScope(asked, privileges)).toEqual({ scope });
  });

  it('--scope system without the capabilities names what is missing', () => {
    expect(watchScope('system', { uid: 1000, capabilities: caps(5) })).toEqual({ error: expect.stringMatching(/needs root or CAP_SYS_PTRACE \(/) });
    expect(watchScope('system', { uid: 1000 })).toEqual({ error: expect.stringMatching(/needs root or CAP_SYS_PTRACE and CAP_KILL/) });
  });

  it('reading other users\' state takes CAP_DAC_READ_SEARCH (or root)', () => {
    expect(systemPrivileges({ uid: 1000, capabilities: caps(19, 5) }).readsOthersState).toBe(false);
    expect(systemPrivileges({ uid: 1000, capabilities: caps(19, 5, 2) }).readsOthersState).toBe(true);
    expect(systemPrivileges({ uid: 0 }).readsOthersState).toBe(true);
  });
});

describe('ports and namespaces', () => {
  it('a user\'s watch listens on 20000 + uid, when that is a port', () => {
    expect(userPort(1000)).toBe(21000);
    expect(userPort(0)).toBe(20000);
    expect(userPort(45535)).toBe(65535);
    expect(userPort(45536)).toBeUndefined();
    expect(userPort(65534)).toBeUndefined();
  });

  it('the host\'s PID namespace is the initial one, 4026531836', () => {
    expect(isInitialPidNamespace('4026531836')).toBe(true);
    expect(isInitialPidNamespace('4026532243')).toBe(false);
    expect(isInitialPidNamespace(undefined)).toBeUndefined();
  });
});

describe('/etc/passwd', () => {
  it('users by uid; comments, short lines and bad uids skipped; the first entry of a uid wins', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# a comment\nbroken:line\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\nalias:x:1000:1000::/elsewhere:/bin/sh\nodd:x:-1:0::/:/bin/sh\n\n');
    expect([...users.values()]).toEqual([
      { name: 'root', uid: 0, home: '/root' },
      { name: 'alice', uid: 1000, home: '/home/alice' },
    ]);
  });
});

const processOf = (pid: number, bytes: number, isMCP = false): ProcessInfo => ({ pid, ppid: 1, command: `p${pid}`, memoryMB: bytes / 1048576, memoryBytes: bytes, isMCP, startTime: 0 });
const group = (processes: ProcessInfo[], ageSeconds: number): LeakGroup => ({
  root: processes[0]!,
  processes: processes.map((p) => ({ ...p, evidence: ['tag'] }) as AttributedProcess),
  totalMemoryMB: processes.reduce((s, p) => s + p.memoryMB, 0),
  totalMemoryBytes: processes.reduce((s, p) => s + p.memoryBytes!, 0),
  ageSeconds,
});

describe('each user\'s figures', () => {
  it('summed over users, every process and every leaked process counts once; a group counts for its root\'s user', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 1 << 30 }), fc.boolean()), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (specs, groupSize) => {
        const processes = specs.map(([, bytes, mcp], i) => processOf(i + 2, bytes, mcp));
        const owner = new Map(specs.map(([user], i) => [i + 2, `u${user}`]));
        const certain: LeakGroup[] = [];
        for (let i = 0; i + groupSize <= processes.length; i += groupSize * 2) certain.push(group(processes.slice(i, i + groupSize), i));
        const users = figuresByUser({ processes, certain, suspected: [], kept: [] }, (pid) => owner.get(pid)!);
        const sum = (f: (u: ReturnType<typeof users.get> & object) => number): number => [...users.values()].reduce((s, u) => s + f(u), 0);
        expect(sum((u) => u.processes)).toBe(processes.length);
        expect(sum((u) => u.residentBytes)).toBe(processes.reduce((s, p) => s + p.memoryBytes!, 0));
        expect(sum((u) => u.mcpProcesses)).toBe(processes.filter((p) => p.isMCP).length);
        expect(sum((u) => u.certain.processes)).toBe(certain.reduce((s, g) => s + g.processes.length, 0));
        expect(sum((u) => u.certain.groups)).toBe(certain.length);
        for (const [user, f] of users) {
          expect(f.suspected).toEqual({ processes: 0, residentBytes: 0, groups: 0, oldestAgeSeconds: 0, pssBytes: 0, cpuCores: 0, spinning: 0 });
          expect(f.processes).toBe(processes.filter((p) => owner.get(p.pid) === user).length);
        }
      }),
    );
  });

  it('a per-user watch keeps its own user only', () => {
    const processes = [processOf(2, 10), processOf(3, 20), processOf(4, 40)];
    const owner = new Map([[2, 'alice'], [3, 'bob'], [4, 'alice']]);
    const users = figuresByUser({ processes, certain: [group([processes[1]!, processes[2]!], 60)], suspected: [], kept: [] }, (pid) => owner.get(pid)!, (u) => u === 'alice');
    expect([...users.keys()]).toEqual(['alice']);
    expect(users.get('alice')).toMatchObject({ processes: 2, residentBytes: 50, certain: { processes: 1, residentBytes: 40, groups: 0 } });
  });
});
