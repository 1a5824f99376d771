// Runs last (the scale group runs after the others, this file last in it): no run of the whole
// suite may leave a run group (`rtrack-*`) in the cgroup v2 hierarchy.
import { describe, expect, it } from 'vitest';
import { cgroup2Mount, findRunGroups } from '../../src/platform/cgroup.js';

describe('after the whole suite', () => {
  it('no rtrack-* cgroup is left', () => {
    const mount = cgroup2Mount();
    if (mount === undefined) {
      console.warn('skipping: no cgroup v2 hierarchy is mounted');
      return;
    }
    expect(findRunGroups(mount)).toEqual([]);
  });
});
