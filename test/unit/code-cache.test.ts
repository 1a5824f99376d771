// The CLI's code cache (src/cli/code-cache.ts, as built: dist/cli/code-cache.cjs): used for the
// very source it was made from, never for another — not even one of the same length, which V8's own
// check lets through and then runs the old code — and a cache V8 cannot use only costs the
// compiling it would have saved. The built CLI starts with its cache. Each load runs in a fresh
// Node: within one process V8 answers a source it compiled before from memory, cache or not.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const LOADER = join(CHECKOUT, 'dist', 'cli', 'code-cache.cjs');

const MODULE = (word: string): string =>
  `const { basename } = require('node:path');\nexports.word = () => '${word}';\nexports.where = () => basename(__filename) + ' in ' + basename(__dirname);\nexports.same = () => module.exports === exports;\n`;

function withModule(word: string): string {
  const file = join(tempDir('code-cache'), 'mod.cjs');
  writeFileSync(file, MODULE(word));
  return file;
}

/** Runs `code` in a fresh Node with the loader as `cc` and the module's path as `file`; what it prints, parsed. */
function inNode(file: string, code: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['-e', `const cc = require(${JSON.stringify(LOADER)}); const file = ${JSON.stringify(file)}; ${code}`], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const makeCache = (file: string): unknown => inNode(file, 'cc.writeCodeCache(file, async (m) => m.word()).then((to) => console.log(JSON.stringify({ to })));').to;
const LOAD = 'const { exports: m, cache } = cc.requireWithCodeCache(file); console.log(JSON.stringify({ cache, word: m.word(), where: m.where(), same: m.same() }));';

describe('requireWithCodeCache', () => {
  it('loads a module as require() does, with its cache once one was made', () => {
    const file = withModule('one');
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'none', word: 'one' });
    expect(makeCache(file)).toBe(`${file}.v8cache`);
    expect(inNode(file, LOAD)).toEqual({ cache: 'used', word: 'one', where: expect.stringMatching(/^mod\.cjs in rtrack-code-cache-/), same: true });
  });

  it('a source changed since, even to one of the same length, is compiled afresh: its own code runs', () => {
    const file = withModule('one');
    makeCache(file);
    writeFileSync(file, MODULE('two'));
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'made from another source', word: 'two' });
  });

  it("(why the source is compared: V8's own check takes that cache, and runs the old code)", () => {
    const file = withModule('one');
    makeCache(file);
    writeFileSync(file, MODULE('two'));
    const v8Alone = `const { Script } = require('node:vm'); const fs = require('node:fs');
      const cache = fs.readFileSync(file + '.v8cache'); const data = cache.subarray(4 + cache.readUInt32LE(0));
      const source = '(function (exports, require, module, __filename, __dirname) { ' + fs.readFileSync(file, 'utf8') + '\\n})';
      const script = new Script(source, { filename: file, cachedData: data }); const m = { exports: {} };
      script.runInThisContext()(m.exports, require, m, file, '.');
      console.log(JSON.stringify({ rejected: script.cachedDataRejected, word: m.exports.word() }));`;
    expect(inNode(file, v8Alone)).toEqual({ rejected: false, word: 'one' });
  });

  it('a cache V8 cannot use (cut short) is rejected by V8, and the module loads all the same', () => {
    const file = withModule('one');
    makeCache(file);
    const cache = readFileSync(`${file}.v8cache`);
    writeFileSync(`${file}.v8cache`, cache.subarray(0, cache.length - 64));
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'rejected by V8', word: 'one' });
  });
});

describe('the built CLI', () => {
  it('starts with the code cache npm run build made for it', () => {
    const main = join(CHECKOUT, 'dist', 'cli', 'main.cjs');
    expect(inNode(main, 'console.log(JSON.stringify({ cache: cc.requireWithCodeCache(file).cache }));')).toEqual({ cache: 'used' });
  });
});
