import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tempDir } from '../helpers/temp.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const dir = tempDir('config');
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('without a path gives the seed defaults', async () => {
    expect(await loadConfig()).toEqual({ enabled: true, memoryThresholdMB: 100, logOrphanedMCPOnly: false, keep: [], lineageIntervalMs: 250, keepSharedDaemons: true, agents: [], sessions: { reap: false, lingerMs: 3000 }, cgroup: 'auto' });
  });

  it('reads a full file', async () => {
    const path = file('full.yaml', `
other_app_setting: 1
diagnostics:
  resource_tracking:
    enabled: false
    memory_threshold_mb: 250
    log_orphaned_mcp_only: true
    keep: ['sccache', 'GradleDaemon']
    lineage_interval_ms: 100
    keep_shared_daemons: false
`);
    expect(await loadConfig(path)).toEqual({ enabled: false, memoryThresholdMB: 250, logOrphanedMCPOnly: true, keep: ['sccache', 'GradleDaemon'], lineageIntervalMs: 100, keepSharedDaemons: false, agents: [], sessions: { reap: false, lingerMs: 3000 }, cgroup: 'auto' });
  });

  it('missing keys take the defaults; an empty file is all defaults', async () => {
    expect(await loadConfig(file('partial.yaml', 'diagnostics:\n  resource_tracking:\n    memory_threshold_mb: 5\n'))).toMatchObject({ enabled: true, memoryThresholdMB: 5 });
    expect(await loadConfig(file('empty.yaml', ''))).toMatchObject({ enabled: true, memoryThresholdMB: 100 });
  });

  it.each([
    ['invalid YAML', 'diagnostics: [unclosed', /bad1\.yaml: invalid YAML/],
    ['wrong type', 'diagnostics:\n  resource_tracking:\n    enabled: "yes"\n', /bad2\.yaml: diagnostics\.resource_tracking\.enabled: .*boolean/],
    ['negative threshold', 'diagnostics:\n  resource_tracking:\n    memory_threshold_mb: -1\n', /bad3\.yaml: diagnostics\.resource_tracking\.memory_threshold_mb/],
    ['unknown key (a typo)', 'diagnostics:\n  resource_tracking:\n    enabeld: false\n', /bad4\.yaml: unknown key diagnostics\.resource_tracking\.enabeld/],
    ['bad keep pattern', 'diagnostics:\n  resource_tracking:\n    keep: ["ok", "(unclosed"]\n', /bad5\.yaml: diagnostics\.resource_tracking\.keep\[1\]: invalid regular expression/],
    ['resource_tracking not a map', 'diagnostics:\n  resource_tracking: 3\n', /bad6\.yaml: diagnostics\.resource_tracking/],
  ])('%s is an error naming the file and key', async (_name, text, pattern) => {
    const index = ['invalid YAML', 'wrong type', 'negative threshold', 'unknown key (a typo)', 'bad keep pattern', 'resource_tracking not a map'].indexOf(_name) + 1;
    const path = file(`bad${index}.yaml`, text);
    const err = await loadConfig(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
  });

  it('an explicit file that does not exist is an error', async () => {
    await expect(loadConfig(join(dir, 'nope.yaml'))).rejects.toThrow(/nope\.yaml: cannot read config: no such file/);
  });

  it('a directory is an error', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    await expect(loadConfig(sub)).rejects.toThrow(/sub: cannot read config: is a directory/);
  });

  it('a YAML warning (an unknown tag) is an error too, on one line', () => {
    expect(() => parseConfig('diagnostics: !weird\n  resource_tracking: {}\n', 'tagged.yaml')).toThrow(/^tagged\.yaml: invalid YAML: .*[^\n]$/);
  });

  it('agents: entries are checked field by field, and read under the library\'s names', () => {
    const ok = parseConfig('diagnostics:\n  resource_tracking:\n    agents:\n      - { name: house, session_env: H_SESSION, pid_env: H_PID, process: "^house( |$)" }\n', 'a.yaml');
    expect(ok.agents).toEqual([{ name: 'house', sessionVar: 'H_SESSION', pidVar: 'H_PID', process: '^house( |$)' }]);
    const bad: [string, RegExp][] = [
      ['agents: house', /a\.yaml: diagnostics\.resource_tracking\.agents: expected a list of agents/],
      ['agents: [{ name: house, session_env: "1x", process: "." }]', /agents\[0\]\.session_env: expected an environment variable name/],
      ['agents: [{ name: house, session_env: H, process: "(" }]', /agents\[0\]\.process: invalid regular expression/],
      ['agents: [{ name: house, session_env: H, process: ".", extra: 1 }]', /agents\[0\]: unknown key extra/],
    ];
    for (const [yaml, pattern] of bad) {
      expect(() => parseConfig(`diagnostics:\n  resource_tracking:\n    ${yaml}\n`, 'a.yaml')).toThrow(pattern);
    }
  });

  it('parseConfig names the source', () => {
    expect(() => parseConfig('diagnostics:\n  resource_tracking:\n    enabled: 1\n', 'inline')).toThrow(/^inline: /);
  });

  it('unreadable file (when not root, permission denied)', async () => {
    const path = file('secret.yaml', 'diagnostics: {}\n');
    chmodSync(path, 0o000);
    if (process.getuid?.() === 0) {
      await expect(loadConfig(path)).resolves.toBeDefined(); // root reads anything
    } else {
      await expect(loadConfig(path)).rejects.toThrow(/permission denied/);
    }
  });
});
