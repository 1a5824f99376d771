// The package as users import it: the exports map, by name, from the built dist/.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('package exports', () => {
  it('resource-tracker exposes the seed API and the extensions', async () => {
    const api = await import('resource-tracker');
    for (const name of ['ResourceTracker', 'detectOrphans', 'memoryGrowth', 'isMCPProcess', 'takeSnapshot', 'loadConfig', 'createLogger', 'runTracked', 'reapOrphans', 'scanMachine', 'attribute', 'createWatchMetrics', 'escapeUnprintable', 'parseTaskTag', 'formatTaskTag']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(api.DEFAULT_CONFIG).toMatchObject({ enabled: true, memoryThresholdMB: 100, logOrphanedMCPOnly: false });
  });

  it('resource-tracker/platform exposes every parser', async () => {
    const parsers = await import('resource-tracker/platform');
    for (const name of ['parsePsOutput', 'parseCimJson', 'parseWmicCsv', 'parseTasklistCsv']) expect(typeof (parsers as Record<string, unknown>)[name]).toBe('function');
  });

  it('declares types for both entry points and the rtrack binary', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { types: string }>; bin: Record<string, string> };
    for (const entry of Object.values(pkg.exports).filter((e) => typeof e === 'object')) {
      expect(() => readFileSync(new URL(`../../${entry.types}`, import.meta.url))).not.toThrow();
    }
    expect(pkg.bin.rtrack).toBe('./bin/rtrack.js');
  });
});
