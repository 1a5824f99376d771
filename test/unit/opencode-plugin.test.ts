// rtrack's opencode plugin file: written from the paths, and recognised as rtrack's only when it is
// exactly what rtrack writes (table and property tests). That it loads and works in opencode is
// test/system/gemini-and-opencode.test.ts (a stand-in that imports and calls it) and the record in
// shared/agents/opencode-1.18.33 (the real opencode 1.18.33).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { opencodePluginText, parseOpencodePlugin } from '../../src/hooks/opencode-plugin.js';

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };
if (process.env.CI) fc.configureGlobal({ seed: 20261129 });

const plugin = { node: '/usr/bin/node', bin: '/opt/rtrack/bin/rtrack.js' };

describe('the opencode plugin file', () => {
  it.each([
    ['as written', (t: string) => t, plugin],
    ['with a --config', () => opencodePluginText({ ...plugin, config: '/home/u/rtrack.yaml' }), { ...plugin, config: '/home/u/rtrack.yaml' }],
    ['edited (one hook changed)', (t: string) => t.replace('reason: "dispose"', 'reason: "bye"'), undefined],
    ['with a line added at the end', (t: string) => `${t}// mine\n`, undefined],
    ['with CRLF line ends', (t: string) => t.replace(/\n/g, '\r\n'), undefined],
    ['naming a relative rtrack', () => opencodePluginText({ ...plugin, bin: 'bin/rtrack.js' }), undefined],
    ['naming another script', () => opencodePluginText({ ...plugin, bin: '/opt/evil/run.js' }), undefined],
    ['someone else\'s plugin', () => 'export const Mine = async () => ({});\n', undefined],
    ['empty', () => '', undefined],
  ])('%s', (_, make, expected) => {
    expect(parseOpencodePlugin(make(opencodePluginText(plugin)))).toEqual(expected);
  });

  it('never listens for a signal (opencode run must still die on SIGTERM), and adds OPENCODE_SESSION_ID in shell.env', () => {
    const text = opencodePluginText(plugin);
    expect(text).not.toMatch(/process\.(on|once|addListener)\(/);
    expect(text).toContain('output.env.OPENCODE_SESSION_ID = input.sessionID');
  });

  it('round-trips any absolute paths, whatever characters they hold (property)', () => {
    const path = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', "'", '$', '`', ' ', '\u2028', 'é', '/', '\r'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) }).map((s) => `/${s.replace(/\n/g, '')}`);
    fc.assert(
      fc.property(path, path, fc.option(path, { nil: undefined }), (node, dir, config) => {
        const p = { node, bin: `${dir}/bin/rtrack.js`, ...(config === undefined ? {} : { config }) };
        expect(parseOpencodePlugin(opencodePluginText(p))).toEqual(p);
      }),
      RUNS,
    );
  });
});
