// The per-user config (src/config.ts): where it lives, a named config file that rtrack would read
// nothing from, and turning reaping on in a config's text without losing the user's comments.
import { describe, expect, it } from 'vitest';
import { configTextWithReap, parseConfig, parseConfigFile, userConfigPath } from '../../src/config.js';

describe('userConfigPath', () => {
  it('is $XDG_CONFIG_HOME/rtrack/config.yaml, else ~/.config/rtrack/config.yaml (a relative XDG_CONFIG_HOME is ignored, as the spec says)', () => {
    expect(userConfigPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/rtrack/config.yaml');
    expect(userConfigPath({ HOME: '/home/u' })).toBe('/home/u/.config/rtrack/config.yaml');
    expect(userConfigPath({ HOME: '/home/u', XDG_CONFIG_HOME: 'rel' })).toBe('/home/u/.config/rtrack/config.yaml');
  });
});

describe('parseConfigFile', () => {
  it('is parseConfig, and a file rtrack would read nothing from is an error naming what is misplaced', () => {
    expect(parseConfigFile('diagnostics:\n  resource_tracking:\n    sessions: { reap: true }\n', 'c.yaml').sessions.reap).toBe(true);
    expect(parseConfigFile('diagnostics:\n  resource_tracking: {}\n', 'c.yaml').sessions.reap).toBe(false);
    expect(() => parseConfigFile('keep: [x]\nagents: []\n', 'c.yaml')).toThrow('c.yaml: rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking (keep is at the top level, agents is at the top level)');
    expect(() => parseConfigFile('', 'c.yaml')).toThrow('c.yaml: rtrack reads nothing from this file: its settings go under diagnostics.resource_tracking');
    expect(() => parseConfigFile('other_app: 1\n', 'c.yaml')).toThrow(/^c\.yaml: rtrack reads nothing from this file: its settings go under diagnostics\.resource_tracking$/);
    expect(() => parseConfigFile('diagnostics:\n  resource_tracking:\n    reap: true\n', 'c.yaml')).toThrow('c.yaml: unknown key diagnostics.resource_tracking.reap');
  });
});

describe('configTextWithReap', () => {
  const on = (text: string): boolean => parseConfig(text, 'c.yaml').sessions.reap;

  it('a new file: the layout rtrack reads, explained', () => {
    const text = configTextWithReap(undefined, 'c.yaml')!;
    expect(on(text)).toBe(true);
    expect(text).toMatch(/^# /);
  });

  it('keeps comments and other keys, whatever is there already; nothing to do when reaping is on', () => {
    for (const original of ['# only a comment\n', 'diagnostics:\n', 'diagnostics:\n  other: 1 # theirs\n', 'a: 1\n\n# between\nb: [1, 2]\n', 'diagnostics:\n  resource_tracking:\n    sessions: { reap: false, linger_ms: 500 } # flow\n']) {
      const text = configTextWithReap(original, 'c.yaml')!;
      expect(on(text), text).toBe(true);
      for (const kept of original.match(/#.*|\w+: \d/g) ?? []) expect(text, text).toContain(kept);
    }
    expect(configTextWithReap('diagnostics:\n  resource_tracking:\n    sessions: { reap: false, linger_ms: 500 } # flow\n', 'c.yaml')).toBe('diagnostics:\n  resource_tracking:\n    sessions: { reap: true, linger_ms: 500 } # flow\n');
    expect(configTextWithReap('diagnostics:\n  resource_tracking:\n    sessions:\n      reap: true\n', 'c.yaml')).toBeUndefined();
  });

  it('a file that is not a valid config is an error, never changed', () => {
    expect(() => configTextWithReap('diagnostics:\n  resource_tracking:\n    sessions: yes\n', 'c.yaml')).toThrow('c.yaml: diagnostics.resource_tracking.sessions: expected { reap, linger_ms }');
    expect(() => configTextWithReap('diagnostics: [\n', 'c.yaml')).toThrow(/^c\.yaml: invalid YAML/);
  });
});
