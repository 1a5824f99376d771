// Loading the CLI's bundle with V8's code cache: what `require()` does, minus most of the
// compiling. `npm run build` runs one tracked command through the freshly bundled CLI and saves
// what V8 compiled for it beside the bundle (`main.cjs.v8cache`); each start then hands that to
// V8 instead of parsing and compiling the functions again (about 10 ms of a `rtrack run`:
// BENCHMARKS.md). Node 22 does the same with `module.enableCompileCache()`; Node 20 does not.
//
// What is checked before V8 sees the cache, because V8 checks little of it: it rejects a cache made
// by another version of itself or with other flags, and compares only the source's length (a cache
// made from another source of the same length runs the old code); and in release builds it does not
// check the payload at all (its checksum is verified only with a debug flag), so a damaged cache
// crashed the CLI (V8's "unreachable code", exit 133, or SIGSEGV: 40 flipped bytes 6 times in 6, one
// flipped bit 1 in 4). So the cache is used only when its header is whole and of this format, it
// was made by this very Node (version, V8 version, architecture, executable), for this very source
// (compared byte for byte), and its payload has the length and the hash written with it. Anything
// else: the bundle is compiled as usual, which only costs the compiling the cache would have saved.
//
// The cache file (format 1; internal: the build writes it, this loader reads it). Integers are
// little-endian.
//
//   offset  bytes  what
//        0      8  "rtrackV8", the magic
//        8      4  the format: 1
//       12      4  K, the key's length
//       16      4  S, the source's length
//       20      4  P, the payload's length
//       24      8  the payload's hash (payloadHash below)
//       32      K  the key, UTF-8: process.version, process.versions.v8, process.arch and
//                  process.execPath, each followed by a NUL
//   32 + K      S  the source the cache was made from
//               …  zeros up to a multiple of 8 (V8 copies a cache that is not 8-byte aligned)
//     then      P  V8's payload (`script.createCachedData()`), to the end of the file
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** Where the code cache of a bundle is kept: beside it. */
export function codeCachePath(file: string): string {
  return `${file}.v8cache`;
}

/** Whether the code cache was handed to V8, and what V8 did with it; or why it was not. */
export type CodeCacheUse =
  | 'used'
  | 'rejected by V8'
  | 'made from another source'
  | 'made by another Node'
  | 'made in another format'
  | 'damaged' // not a cache file, cut short, or its payload is not the one written
  | 'cannot be checked' // no WebAssembly (`node --jitless`), which the hash needs
  | 'none';

const MAGIC = Buffer.from('rtrackV8', 'latin1');
const FORMAT = 1;
const HEADER = 32;
const align = (n: number, to: number): number => Math.ceil(n / to) * to; // not with `&`: a damaged header's lengths may pass 2^31

/** What the cache is keyed by besides its source: the Node that made it. */
function nodeKey(): string {
  return `${process.version}\0${process.versions.v8}\0${process.arch}\0${process.execPath}\0`;
}

// The payload's hash. It has to find damage, not withstand an adversary (the cache sits in the
// package's own dist/), and it is paid at every start of the full CLI, over the payload (237 kB of
// the CLI's 584 kB cache file). Measured in fresh Nodes on that payload (medians of 15, this
// machine; BENCHMARKS.md): node:crypto's sha1 2.7 ms, 2.5 of them loading node:crypto, which the
// CLI's start does not load otherwise (test/system/cli-start.test.ts); node:zlib's crc32 1.4 ms,
// nearly all loading node:zlib (and Node 20.15+ only); hash loops in JavaScript 1.5–2.8 ms, run
// mostly by the interpreter before V8 optimises them (0.1–0.2 ms once optimised); the same loop in
// WebAssembly 0.65 ms: compiling 0.15–0.2, instantiating 0.1, copying the payload into its memory
// 0.1, running 0.2. (Asking V8 to verify its own checksum, `--verify-snapshot-checksum` set at run
// time, changes the hash of its flags: it then rejects every cache.) So: WebAssembly, assembled by
// hand below. Two lanes of xxHash64's round over 16-byte blocks, the data padded with zeros, its
// length in the seed:
//   a = rotl(a + word * P2, 31) * P1, b likewise with the next word; the hash: a ^ rotl(b, 29).
// Each round is a bijection of its lane for a given word and of the word for a given lane, so data
// that differs in one 8-byte word always hashes differently; wider damage escapes 1 time in 2^64.
// test/unit/code-cache.test.ts checks the module against the same hash written with BigInts.
// P1 = 0x9e3779b185ebca87 and P2 = 0xc2b2ae3d27d4eb4f, xxHash64's first two primes.
const P1_SLEB = [0x87, 0x95, 0xaf, 0xaf, 0x98, 0xb6, 0xde, 0x9b, 0x9e, 0x7f]; // i64.const P1 (signed LEB128)
const P2_SLEB = [0xcf, 0xd6, 0xd3, 0xbe, 0xd2, 0xc7, 0xab, 0xd9, 0x42];
// (func (param $p i32) (param $n i32) (result i64) (local $a i64) (local $b i64) (local $end i32) …)
const HASH_BODY = [
  0x02, 0x02, 0x7e, 0x01, 0x7f, //                 locals: 2 × i64 ($a = 2, $b = 3), 1 × i32 ($end = 4)
  0x42, ...P1_SLEB, 0x20, 0x01, 0xad, 0x7c, 0x21, 0x02, // $a = P1 + u64($n)
  0x42, ...P2_SLEB, 0x21, 0x03, //                 $b = P2
  0x20, 0x00, 0x20, 0x01, 0x41, 0x0f, 0x6a, 0x41, 0x70, 0x71, 0x6a, 0x21, 0x04, // $end = $p + (($n + 15) & -16)
  0x02, 0x40, 0x03, 0x40, //                       block, loop
  0x20, 0x00, 0x20, 0x04, 0x4f, 0x0d, 0x01, //     br_if out ($p >= $end, unsigned)
  0x20, 0x02, 0x20, 0x00, 0x29, 0x03, 0x00, 0x42, ...P2_SLEB, 0x7e, 0x7c, // $a + i64.load($p) * P2
  0x42, 0x1f, 0x89, 0x42, ...P1_SLEB, 0x7e, 0x21, 0x02, //                   rotl 31, * P1 → $a
  0x20, 0x03, 0x20, 0x00, 0x29, 0x03, 0x08, 0x42, ...P2_SLEB, 0x7e, 0x7c, // $b + i64.load($p + 8) * P2
  0x42, 0x1f, 0x89, 0x42, ...P1_SLEB, 0x7e, 0x21, 0x03, //                   rotl 31, * P1 → $b
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, //     $p += 16
  0x0c, 0x00, 0x0b, 0x0b, //                       br loop; end; end
  0x20, 0x02, 0x20, 0x03, 0x42, 0x1d, 0x89, 0x85, // $a ^ rotl($b, 29)
  0x0b,
];
const uleb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...uleb(n >>> 7)]);
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const HASH_MODULE = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e]), // one type: (i32, i32) → i64
  ...section(2, [0x01, 0x01, 0x6d, 0x01, 0x6d, 0x02, 0x00, 0x00]), // imports "m" "m": a memory
  ...section(3, [0x01, 0x00]), // one function, of that type
  ...section(7, [0x01, 0x01, 0x68, 0x00, 0x00]), // exported as "h"
  ...section(10, [0x01, ...uleb(HASH_BODY.length), ...HASH_BODY]),
];

// The little of WebAssembly used here (@types/node for Node 20 does not declare it).
interface Wasm {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/**
 * The hash of a cache's payload (see above), or undefined where WebAssembly is missing (`node
 * --jitless`) or fails (no room for its memory).
 */
export function payloadHash(data: Uint8Array): bigint | undefined {
  const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;
  if (wasm === undefined) return undefined;
  try {
    const memory = new wasm.Memory({ initial: Math.ceil(align(data.length, 16) / 65536) }); // zeros past the data, to the last block's end
    new Uint8Array(memory.buffer).set(data);
    const { h } = new wasm.Instance(new wasm.Module(Uint8Array.from(HASH_MODULE)), { m: { m: memory } }).exports as { h: (p: number, n: number) => bigint };
    return BigInt.asUintN(64, h(0, data.length));
  } catch {
    return undefined;
  }
}

function cachedDataFor(source: Buffer, cacheFile: string): { data?: Buffer; use: CodeCacheUse } {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return { use: 'none' };
  }
  if (cache.length < HEADER || !MAGIC.equals(cache.subarray(0, 8))) return { use: 'damaged' };
  if (cache.readUInt32LE(8) !== FORMAT) return { use: 'made in another format' };
  const keyLength = cache.readUInt32LE(12);
  const sourceLength = cache.readUInt32LE(16);
  const payloadLength = cache.readUInt32LE(20);
  const payloadStart = align(HEADER + keyLength + sourceLength, 8);
  if (payloadStart + payloadLength !== cache.length) return { use: 'damaged' };
  if (cache.toString('utf8', HEADER, HEADER + keyLength) !== nodeKey()) return { use: 'made by another Node' };
  if (sourceLength !== source.length || !source.equals(cache.subarray(HEADER + keyLength, HEADER + keyLength + sourceLength))) return { use: 'made from another source' };
  const data = cache.subarray(payloadStart);
  const hash = payloadHash(data);
  if (hash === undefined) return { use: 'cannot be checked' };
  if (hash !== cache.readBigUInt64LE(24)) return { use: 'damaged' };
  return { data, use: 'used' };
}

function load(file: string, source: Buffer, cachedData: Buffer | undefined): { exports: Record<string, unknown>; script: Script } {
  // The wrapper require() puts around a CommonJS module, on the source's first line: line numbers
  // in stack traces stay right.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source.toString('utf8')}\n})`, { filename: file, cachedData });
  const module = { exports: {} as Record<string, unknown> };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script };
}

/**
 * Loads a CommonJS file as `require()` would, with its code cache when there is a sound one made
 * by this Node for this very source. With source maps on (`--enable-source-maps`), plainly with
 * `require()`, which maps stack traces.
 */
export function requireWithCodeCache(file: string): { exports: Record<string, unknown>; cache: CodeCacheUse } {
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled) return { exports: createRequire(file)(file) as Record<string, unknown>, cache: 'none' };
  const source = readFileSync(file);
  const { data, use } = cachedDataFor(source, codeCachePath(file));
  const { exports, script } = load(file, source, data);
  return { exports, cache: data !== undefined && script.cachedDataRejected ? 'rejected by V8' : use };
}

/**
 * Makes the code cache of a CommonJS file: loads it without a cache, runs `use` on its exports
 * (what V8 compiles meanwhile goes into the cache), then writes the cache beside the file.
 */
export async function writeCodeCache(file: string, use: (exports: Record<string, unknown>) => Promise<unknown>): Promise<string> {
  const source = readFileSync(file);
  const { exports, script } = load(file, source, undefined);
  await use(exports);
  const payload = script.createCachedData();
  const hash = payloadHash(payload);
  if (hash === undefined) throw new Error('no WebAssembly to hash the code cache with');
  const key = Buffer.from(nodeKey(), 'utf8');
  const payloadStart = align(HEADER + key.length + source.length, 8);
  const cache = Buffer.alloc(payloadStart + payload.length); // zeros: the padding
  MAGIC.copy(cache, 0);
  cache.writeUInt32LE(FORMAT, 8);
  cache.writeUInt32LE(key.length, 12);
  cache.writeUInt32LE(source.length, 16);
  cache.writeUInt32LE(payload.length, 20);
  cache.writeBigUInt64LE(hash, 24);
  key.copy(cache, HEADER);
  source.copy(cache, HEADER + key.length);
  payload.copy(cache, payloadStart);
  const target = codeCachePath(file);
  writeFileSync(`${target}.tmp`, cache);
  renameSync(`${target}.tmp`, target);
  return target;
}
