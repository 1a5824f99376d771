// What a leak costs, the rules (rules/cost.ts): the CPU share between two readings, and when a
// process spins — a share of a core, or runnable that share of the time on a machine too loaded to
// give it a core.
import { describe, expect, it } from 'vitest';
import { cpuPercent, lifetimeCpuPercent, SPINNING_PERCENT, spinsOverSample } from '../../src/rules/cost.js';

describe('spinning', () => {
  it.each([
    ['a core burned', 97, undefined, true],
    ['a core burned, runnable too', 95, 99, true],
    ['a loaded machine: 40 % of a core, runnable all the time', 40, 100, true],
    ['a sleeper', 0, 0, false],
    ['busy half the time', 50, 55, false],
    ['no runnable time told: the share decides', 60, undefined, false],
  ])('%s', (_name, share, runnable, spins) => {
    expect(spinsOverSample(share, runnable)).toBe(spins);
  });

  it('shares of a core between two readings, and since a start', () => {
    expect(cpuPercent(1.0, 1.2, 200)).toBeCloseTo(100);
    expect(cpuPercent(1.0, 1.0, 200)).toBe(0);
    expect(cpuPercent(1.0, 1.1, 0)).toBe(0);
    expect(lifetimeCpuPercent(9, 10_000)).toBeCloseTo(90);
    expect(SPINNING_PERCENT).toBe(90);
  });
});
