// The CLI's code cache (src/cli/code-cache.ts, as built: dist/cli/code-cache.cjs): used for the
// very source it was made from, never for another — not even one of the same length, which V8's own
// check lets through and then runs the old code — only by the Node that made it, and only when its
// payload is the one written (V8 does not check it in release builds: a damaged one crashed the
// CLI). A cache that cannot be used only costs the compiling it would have saved. The built CLI
// starts with its cache. Each load runs in a fresh Node: within one process V8 answers a source it
// compiled before from memory, cache or not.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** Runs `code` in a fresh Node (with `flags`) with the loader as `cc` and the module's path as `file`; what it prints, parsed. */
function inNode(file: string, code: string, flags: string[] = []): Record<string, unknown> {
  const r = spawnSync(process.execPath, [...flags, '-e', `const cc = require(${JSON.stringify(LOADER)}); const file = ${JSON.stringify(file)}; ${code}`], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const makeCache = (file: string): unknown => inNode(file, 'cc.writeCodeCache(file, async (m) => m.word()).then((to) => console.log(JSON.stringify({ to })));').to;
const LOAD = 'const { exports: m, cache } = cc.requireWithCodeCache(file); console.log(JSON.stringify({ cache, word: m.word(), where: m.where(), same: m.same() }));';

// The cache file's layout, read and written here by hand (src/cli/code-cache.ts documents it): a
// 32-byte header (magic, format, the key's, the source's and the payload's lengths at 12, 16 and
// 20, the payload's hash at 24), the key, the source, zeros to a multiple of 8, V8's payload.
interface CacheFile {
  header: Buffer;
  key: string;
  source: Buffer;
  payload: Buffer;
}
function readCache(file: string): CacheFile {
  const cache = readFileSync(`${file}.v8cache`);
  const keyLength = cache.readUInt32LE(12);
  const sourceLength = cache.readUInt32LE(16);
  return {
    header: cache.subarray(0, 32),
    key: cache.toString('utf8', 32, 32 + keyLength),
    source: cache.subarray(32 + keyLength, 32 + keyLength + sourceLength),
    payload: cache.subarray(cache.length - cache.readUInt32LE(20)),
  };
}
function writeCache(file: string, { header, key, source, payload }: CacheFile): void {
  const keyBytes = Buffer.from(key, 'utf8');
  const head = Buffer.from(header);
  head.writeUInt32LE(keyBytes.length, 12);
  const unpadded = 32 + keyBytes.length + source.length;
  writeFileSync(`${file}.v8cache`, Buffer.concat([head, keyBytes, source, Buffer.alloc(Math.ceil(unpadded / 8) * 8 - unpadded), payload]));
}
/**
 * Flips (xor 0xff) `count` bytes spread evenly over V8's payload in the cache of `file`, in place.
 * The payload is found without the header — it is what follows the source and its padding, to the
 * end — so that this damages the cache alike in the format before (the source's length, the
 * source, the payload), where these tests must fail.
 */
function corruptPayload(file: string, count: number): void {
  const cache = readFileSync(`${file}.v8cache`);
  const source = cache.indexOf(readFileSync(file));
  expect(source).toBeGreaterThan(0);
  const start = source + readFileSync(file).length + 8;
  const length = cache.length - start;
  for (let i = 0; i < count; i++) cache[start + Math.floor(((i + 0.5) * length) / count)]! ^= 0xff;
  writeFileSync(`${file}.v8cache`, cache);
}

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
      const cache = fs.readFileSync(file + '.v8cache'); const data = cache.subarray(cache.length - cache.readUInt32LE(20));
      const source = '(function (exports, require, module, __filename, __dirname) { ' + fs.readFileSync(file, 'utf8') + '\\n})';
      const script = new Script(source, { filename: file, cachedData: data }); const m = { exports: {} };
      script.runInThisContext()(m.exports, require, m, file, '.');
      console.log(JSON.stringify({ rejected: script.cachedDataRejected, word: m.exports.word() }));`;
    expect(inNode(file, v8Alone)).toEqual({ rejected: false, word: 'one' });
  });

  it('a cache V8 itself cannot use (a Node started with other V8 flags) is rejected by V8, and the module loads all the same', () => {
    const file = withModule('one');
    makeCache(file);
    expect(inNode(file, LOAD, ['--no-opt'])).toMatchObject({ cache: 'rejected by V8', word: 'one' });
  });

  it("a cache with one flipped byte in V8's payload is not handed to V8 (which would not notice: it crashed the CLI); the module loads all the same", () => {
    const file = withModule('one');
    makeCache(file);
    corruptPayload(file, 1);
    expect(inNode(file, LOAD)).toEqual({ cache: 'damaged', word: 'one', where: expect.stringMatching(/^mod\.cjs in /), same: true });
  });

  it('a cache file cut short — in the payload, in the key, in the header — is not used; the module loads all the same', () => {
    const file = withModule('one');
    makeCache(file);
    const cache = readFileSync(`${file}.v8cache`);
    const payloadLength = cache.readUInt32LE(20);
    for (const cut of [cache.length - Math.floor(payloadLength / 2), cache.length - 1, 40, 20, 0]) {
      writeFileSync(`${file}.v8cache`, cache.subarray(0, cut));
      expect(inNode(file, LOAD), `cut at ${cut} of ${cache.length} bytes`).toMatchObject({ cache: 'damaged', word: 'one' });
    }
  });

  it('a cache made by another Node (another version, V8, architecture or executable: its header says) is not used', () => {
    const file = withModule('one');
    makeCache(file);
    const made = readCache(file);
    const [version, v8, arch, execPath] = made.key.split('\0');
    expect(made.key).toBe(`${process.version}\0${process.versions.v8}\0${process.arch}\0${process.execPath}\0`);
    for (const key of [
      `v20.0.0\0${v8}\0${arch}\0${execPath}\0`,
      `${version}\0${v8}.1\0${arch}\0${execPath}\0`,
      `${version}\0${v8}\0${arch === 'x64' ? 'arm64' : 'x64'}\0${execPath}\0`,
      `${version}\0${v8}\0${arch}\0/opt/another/bin/node\0`,
    ]) {
      writeCache(file, { ...made, key });
      expect(inNode(file, LOAD), key).toMatchObject({ cache: 'made by another Node', word: 'one' });
    }
    writeCache(file, made); // as made: used again
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'used', word: 'one' });
  });

  it('a cache file of another format, or none at all, is not used', () => {
    const file = withModule('one');
    makeCache(file);
    const made = readCache(file);
    const header = Buffer.from(made.header);
    header.writeUInt32LE(2, 8);
    writeCache(file, { ...made, header });
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'made in another format', word: 'one' });
    writeFileSync(`${file}.v8cache`, 'not a cache at all, but longer than a header');
    expect(inNode(file, LOAD)).toMatchObject({ cache: 'damaged', word: 'one' });
  });
});

describe('payloadHash', () => {
  // The hash as its comment defines it, in BigInt arithmetic: two lanes of xxHash64's round over
  // 16-byte blocks, the data padded with zeros, the length in the seed; a ^ rotl(b, 29).
  const P1 = 0x9e3779b185ebca87n;
  const P2 = 0xc2b2ae3d27d4eb4fn;
  const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
  const rotl = (x: bigint, r: bigint): bigint => u64((x << r) | (x >> (64n - r)));
  function reference(data: Uint8Array): bigint {
    const padded = new Uint8Array(Math.ceil(data.length / 16) * 16);
    padded.set(data);
    const words = new DataView(padded.buffer);
    let a = u64(P1 + BigInt(data.length));
    let b = P2;
    for (let p = 0; p < padded.length; p += 16) {
      a = u64(rotl(u64(a + u64(words.getBigUint64(p, true) * P2)), 31n) * P1);
      b = u64(rotl(u64(b + u64(words.getBigUint64(p + 8, true) * P2)), 31n) * P1);
    }
    return a ^ rotl(b, 29n);
  }

  it('is what its comment says it is, for any length', () => {
    const lengths = [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 1000, 65_536, 65_537];
    const code = `const r = {}; let seed = 1; for (const n of ${JSON.stringify(lengths)}) {
      const data = new Uint8Array(n); for (let i = 0; i < n; i++) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; data[i] = seed >>> 24; }
      r[n] = { data: Buffer.from(data).toString('base64'), hash: String(cc.payloadHash(data)) };
    } console.log(JSON.stringify(r));`;
    const hashed = inNode(LOADER, code) as Record<string, { data: string; hash: string }>;
    for (const n of lengths) expect(BigInt(hashed[n]!.hash), `${n} bytes`).toBe(reference(Buffer.from(hashed[n]!.data, 'base64')));
  });

  it('tells apart data that differs in one byte, or only in its length (trailing zeros)', () => {
    const code = `const base = new Uint8Array(100).fill(7); const h = [String(cc.payloadHash(base))];
      for (const i of [0, 8, 50, 99]) { const d = base.slice(); d[i] ^= 1; h.push(String(cc.payloadHash(d))); }
      h.push(String(cc.payloadHash(new Uint8Array(16))), String(cc.payloadHash(new Uint8Array(15))), String(cc.payloadHash(new Uint8Array(0))));
      console.log(JSON.stringify({ h }));`;
    const { h } = inNode(LOADER, code) as { h: string[] };
    expect(new Set(h).size).toBe(h.length);
  });
});

describe('the built CLI', () => {
  it('starts with the code cache npm run build made for it', () => {
    const main = join(CHECKOUT, 'dist', 'cli', 'main.cjs');
    expect(inNode(main, 'console.log(JSON.stringify({ cache: cc.requireWithCodeCache(file).cache }));')).toEqual({ cache: 'used' });
  });

  it('works with a damaged code cache (40 flipped bytes in its payload crashed every full command, exit 133 or SIGSEGV): it compiles as usual', () => {
    const root = tempDir('code-cache-cli');
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CHECKOUT, part), join(root, part), { recursive: true });
    symlinkSync(join(CHECKOUT, 'node_modules'), join(root, 'node_modules'));
    const main = join(root, 'dist', 'cli', 'main.cjs');
    expect(inNode(main, 'console.log(JSON.stringify({ cache: cc.requireWithCodeCache(file).cache }));')).toEqual({ cache: 'used' }); // the copy's cache is sound
    corruptPayload(main, 40);
    const r = spawnSync(process.execPath, [join(root, 'bin', 'rtrack.js'), 'snapshot', '--json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', HOME: root, XDG_STATE_HOME: join(root, 'state'), XDG_CONFIG_HOME: join(root, 'config') },
      maxBuffer: 64 * 1024 * 1024,
    });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const snapshot = JSON.parse(r.stdout) as { processes: { pid: number }[] };
    expect(snapshot.processes.some((p) => p.pid === process.pid)).toBe(true);
  });
});
