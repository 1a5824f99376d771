// Text edits of a settings file: a member appended or removed touches its own lines and nothing
// else — comments, neighbours' layout, line ends stay byte for byte (src/hooks/json-text-edits.ts).
import fc from 'fast-check';
import * as jsonc from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { applyJsonTextEdit, lostComments } from '../../src/hooks/json-text-edits.js';
import type { SettingsEdit } from '../../src/hooks/settings-edits.js';

const twoSpaces = { insertSpaces: true, tabSize: 2, eol: '\n' } as const;
const edit = (text: string, e: SettingsEdit, formatting: jsonc.FormattingOptions = twoSpaces): string => applyJsonTextEdit(jsonc, text, e, formatting);
const parse = (text: string): unknown => jsonc.parse(text, [], { disallowComments: false, allowTrailingComma: false });

describe('applyJsonTextEdit', () => {
  it.each([
    [
      'a middle element: the comment after it and the one above the next stay',
      '[\n  1,\n  2, // two\n  // about three\n  3\n]\n',
      { path: [1] },
      '[\n  1,\n  // two\n  // about three\n  3\n]\n',
    ],
    ['an element on a line with others', '[ 1, 2 /* two */, 3 ]', { path: [1] }, '[ 1, /* two */ 3 ]'],
    ['the last element on a line with others', '[ 1 /* one */, 2 ]', { path: [1] }, '[ 1 /* one */ ]'],
    ['comma first: the comment line between it and its comma stays', '[\n  1\n  // c\n  , 2\n]', { path: [0] }, '[\n  // c\n  2\n]'],
    ['appended on the line when something follows the last member there', '{ "a": [ 1 ] /* c */ }', { path: ['a', -1], value: { b: 2 }, insert: true }, '{ "a": [ 1, {"b":2} ] /* c */ }'],
    ['appended below a line holding two members, indented as that line', '{\n  "a": 1, "b": 2\n}\n', { path: ['c'], value: 3 }, '{\n  "a": 1, "b": 2,\n  "c": 3\n}\n'],
    ['the last element: the comma before it goes, the comment after that comma stays', '[\n  1, // one\n  2\n]\n', { path: [1] }, '[\n  1 // one\n]\n'],
    ['the only property', '{\n  "hooks": {\n    "a": 1\n  }\n}\n', { path: ['hooks'] }, '{\n}\n'],
    [
      'a property spread over lines, between two on one line each',
      '{\n  "a": { "x": 1 }, // keep\n  "hooks": {\n    "b": [1]\n  },\n  "c": 2\n}\n',
      { path: ['hooks'] },
      '{\n  "a": { "x": 1 }, // keep\n  "c": 2\n}\n',
    ],
    [
      'a property appended after one with a trailing comment',
      '{\n  "model": { "name": "m" } // pinned\n}\n',
      { path: ['hooks'], value: { on: true } },
      '{\n  "model": { "name": "m" }, // pinned\n  "hooks": {\n    "on": true\n  }\n}\n',
    ],
    [
      'missing parents appended as one property',
      '{\n  "a": 1\n}\n',
      { path: ['hooks', 'SessionStart'], value: [] },
      '{\n  "a": 1,\n  "hooks": {\n    "SessionStart": []\n  }\n}\n',
    ],
    ['an element appended to an array', '[\n\t1 /* one */\n]', { path: [-1], value: 'x', insert: true }, '[\n\t1, /* one */\n\t"x"\n]'],
  ])('%s', (_name, text, e, expected) => {
    expect(edit(text, e as SettingsEdit, text.includes('\t') ? { insertSpaces: false, tabSize: 1, eol: '\n' } : twoSpaces)).toBe(expected);
  });

  it('keeps CRLF line ends', () => {
    const text = '{\r\n  "a": 1 // one\r\n}\r\n';
    const added = edit(text, { path: ['b'], value: [2] }, { ...twoSpaces, eol: '\r\n' });
    expect(added).toBe('{\r\n  "a": 1, // one\r\n  "b": [\r\n    2\r\n  ]\r\n}\r\n');
    expect(edit(added, { path: ['b'] })).toBe('{\r\n  "a": 1 // one\r\n}\r\n');
  });

  it('falls back to jsonc-parser where the container is empty or on one line (the result still parses as asked)', () => {
    expect(parse(edit('{}', { path: ['a'], value: 1 }))).toEqual({ a: 1 });
    expect(parse(edit('{"a": 1, "b": 2}', { path: ['a'] }))).toEqual({ b: 2 });
    expect(parse(edit('{"a": [1, 2]}', { path: ['a', -1], value: 3, insert: true }))).toEqual({ a: [1, 2, 3] });
  });

  it('lostComments: what the edited text no longer holds, but inside what was to go', () => {
    expect(lostComments(jsonc, '[1 /* a */, 2 // b\n]', '[1, 2 // b\n]')).toEqual(['/* a */']);
    expect(lostComments(jsonc, '[1 /* a */, 2]', '[1, 2]', [[1, 11]])).toEqual([]);
    expect(lostComments(jsonc, '[1 /* a */, 2 /* a */]', '[1 /* a */, 2]')).toEqual(['/* a */']); // counted
  });

  it('replaces a value in place', () => {
    expect(edit('{\n  "a": "old", // c\n  "b": 1\n}\n', { path: ['a'], value: 'new' })).toBe('{\n  "a": "new", // c\n  "b": 1\n}\n');
  });

  // Objects laid out one member a line, with comments on lines of their own and after members.
  const member = fc.record({
    key: fc.stringMatching(/^[a-z]{1,8}$/),
    value: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 6 }), fc.constant({ x: [1, 2] })),
    above: fc.option(fc.stringMatching(/^[a-z ]{0,12}$/), { nil: undefined }),
    after: fc.option(fc.stringMatching(/^[a-z ]{0,12}$/), { nil: undefined }),
  });
  const settingsText = fc
    .record({ members: fc.uniqueArray(member, { minLength: 1, maxLength: 6, selector: (m) => m.key }), crlf: fc.boolean(), indent: fc.constantFrom('  ', '    ', '\t') })
    .map(({ members, crlf, indent }) => {
      const eol = crlf ? '\r\n' : '\n';
      const lines = members.map((m, i) => {
        const above = m.above === undefined ? '' : `${indent}// above ${m.above}${eol}`;
        const comma = i < members.length - 1 ? ',' : '';
        return `${above}${indent}${JSON.stringify(m.key)}: ${JSON.stringify(m.value)}${comma}${m.after === undefined ? '' : ` // after ${m.after}`}`;
      });
      const formatting = indent === '\t' ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
      return { text: `{${eol}${lines.join(eol)}${eol}}${eol}`, members, formatting };
    });
  const comments = (text: string): string[] => text.match(/\/\/[^\r\n]*|\/\*[\s\S]*?\*\//g) ?? [];

  // Any layout: members on one line or on their own, commas after or first, comments between a
  // member and its comma, after the last one, before the closing bracket.
  const freeLayout = fc
    .record({
      members: fc.uniqueArray(fc.record({ key: fc.stringMatching(/^[a-z]{1,6}$/), value: fc.oneof(fc.integer(), fc.constant([1, { y: 2 }])) }), { minLength: 1, maxLength: 5, selector: (m) => m.key }),
      seps: fc.array(fc.constantFrom(',\n  ', ', ', '\n  , ', ' /* b */,\n  ', ' /* b */, ', ',  // l\n  '), { minLength: 5, maxLength: 5 }),
      close: fc.constantFrom('\n}\n', ' }\n', ' /* end */ }', '\n  // end\n}', ' /* x\n y */\n}\n'),
      crlf: fc.boolean(),
    })
    .map(({ members, seps, close, crlf }) => {
      const body = members.map((m, i) => `${JSON.stringify(m.key)}: ${JSON.stringify(m.value)}${i < members.length - 1 ? seps[i] : ''}`).join('');
      const text = `{\n  ${body}${close}`;
      return { text: crlf ? text.replace(/\n/g, '\r\n') : text, members };
    });

  it('in any layout, appending then removing gives the text back, and removing keeps every comment', () => {
    fc.assert(
      fc.property(freeLayout, fc.nat(), ({ text, members }, pick) => {
        const formatting = { ...twoSpaces, eol: text.includes('\r\n') ? '\r\n' : '\n' };
        const added = edit(text, { path: ['rtrack'], value: { hooks: [1] } }, formatting);
        expect(parse(added)).toEqual({ ...(parse(text) as object), rtrack: { hooks: [1] } });
        expect(comments(added)).toEqual(comments(text));
        expect(edit(added, { path: ['rtrack'] }, formatting)).toBe(text);
        const gone = members[pick % members.length]!.key;
        const removed = edit(text, { path: [gone] }, formatting);
        const expected = { ...(parse(text) as Record<string, unknown>) };
        delete expected[gone];
        expect(parse(removed)).toEqual(expected);
        expect(comments(removed)).toEqual(comments(text));
      }),
      { numRuns: 500 },
    );
  });

  it('appending a property and removing it again gives the text back byte for byte, every comment kept', () => {
    fc.assert(
      fc.property(settingsText, ({ text, formatting }) => {
        const added = edit(text, { path: ['rtrack'], value: { hooks: [{ command: 'x' }] } }, formatting);
        expect(parse(added)).toEqual({ ...(parse(text) as object), rtrack: { hooks: [{ command: 'x' }] } });
        expect(comments(added)).toEqual(comments(text));
        expect(edit(added, { path: ['rtrack'] }, formatting)).toBe(text);
      }),
    );
  });

  it('removing one property leaves every other member and every comment', () => {
    fc.assert(
      fc.property(settingsText, fc.nat(), ({ text, members, formatting }, pick) => {
        const gone = members[pick % members.length]!;
        const next = edit(text, { path: [gone.key] }, formatting);
        const expected = { ...(parse(text) as Record<string, unknown>) };
        delete expected[gone.key];
        expect(parse(next)).toEqual(expected);
        expect(comments(next)).toEqual(comments(text));
      }),
    );
  });
});
