import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupV2Path, findCgroup2Mount, findRunGroups, isRunGroupName, locateCgroupParent } from '../../src/platform/cgroup.js';
import { tempDir } from '../helpers/temp.js';

const PURE_V2 = `24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
27 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const ESCAPED = '50 31 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw\n';

describe('finding the cgroup v2 hierarchy', () => {
  it.each([
    ['pure v2', PURE_V2, '/sys/fs/cgroup'],
    ['hybrid', HYBRID, '/sys/fs/cgroup/unified'],
    ['a mount point with a space', ESCAPED, '/mnt/my cgroups'],
    ['v1 only', '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n', undefined],
  ])('%s', (_name, mountinfo, expected) => {
    expect(findCgroup2Mount(mountinfo)).toBe(expected);
  });

  it.each([
    ['0::/user.slice/user-1000.slice/session-2.scope\n', '/user.slice/user-1000.slice/session-2.scope'],
    ['9:name=systemd:/\n4:memory:/process_api/x\n0::/\n', '/'],
    ['4:memory:/x\n', undefined],
  ])('own group of %j', (text, expected) => {
    expect(cgroupV2Path(text)).toBe(expected);
  });

  it('an injected hierarchy: our group below it is used when it is a group we may write, and why not otherwise', () => {
    // A stand-in /proc and hierarchy: /proc/self/cgroup says 0::/agents/session-1.
    const root = tempDir('cgroup-fake');
    const proc = join(root, 'proc');
    mkdirSync(join(proc, 'self'), { recursive: true });
    writeFileSync(join(proc, 'self', 'cgroup'), '0::/agents/session-1\n');
    const mount = join(root, 'cgroup');
    expect(locateCgroupParent({ mount, procRoot: proc })).toEqual({ why: `${mount}/agents/session-1 is not a cgroup v2 group` });
    mkdirSync(join(mount, 'agents', 'session-1'), { recursive: true });
    writeFileSync(join(mount, 'agents', 'session-1', 'cgroup.procs'), '');
    expect(locateCgroupParent({ mount, procRoot: proc })).toEqual({ parent: `${mount}/agents/session-1` });
    writeFileSync(join(proc, 'self', 'cgroup'), '4:memory:/x\n');
    expect(locateCgroupParent({ mount, procRoot: proc })).toMatchObject({ why: expect.stringMatching(/no cgroup v2 group/) });
  });
});

describe('run groups are told by their name', () => {
  it('rtrack-rt3.… and rtrack-rt2.… are runs; a unit named rtrack-… is not', () => {
    expect(isRunGroupName('rtrack-rt3.12.34.4026531836.abcdef')).toBe(true);
    expect(isRunGroupName('rtrack-rt2.12.34.x.abcdef')).toBe(true);
    for (const name of ['rtrack-watch.service', 'rtrack-rt4.1', 'rtrack-', 'xrtrack-rt3.1', 'rtrack-rt3']) expect(isRunGroupName(name)).toBe(false);
    const root = tempDir('cg');
    for (const dir of ['system.slice/rtrack-watch.service', 'user.slice/rtrack-rt3.1.2.3.ab', 'rtrack-rt2.5.6.x.cd']) mkdirSync(join(root, dir), { recursive: true });
    expect(findRunGroups(root).map((p) => p.slice(root.length + 1)).sort()).toEqual(['rtrack-rt2.5.6.x.cd', 'user.slice/rtrack-rt3.1.2.3.ab']);
  });
});
