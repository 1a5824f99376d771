// Loading the CLI's bundle with V8's code cache: what `require()` does, minus most of the
// compiling. `npm run build` runs one tracked command through the freshly bundled CLI and saves
// what V8 compiled for it beside the bundle (`main.cjs.v8cache`); each start then hands that to
// V8 instead of parsing and compiling the functions again (about 10 ms of a `rtrack run`:
// BENCHMARKS.md). Node 22 does the same with `module.enableCompileCache()`; Node 20 does not.
//
// The cache is used only for the very source it was made from: the file holds that source, and a
// byte-for-byte comparison (not V8's own check, which compares lengths) decides. V8 rejects a cache
// made by another version of itself or with other flags; the bundle is then compiled as usual.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** Where the code cache of a bundle is kept: beside it. */
export function codeCachePath(file: string): string {
  return `${file}.v8cache`;
}

/** Whether the code cache was handed to V8, and what V8 did with it. */
export type CodeCacheUse = 'used' | 'rejected by V8' | 'made from another source' | 'none';

// A cache file: the length of the source (4 bytes, little-endian), the source, then V8's data.
function cachedDataFor(source: Buffer, cacheFile: string): { data?: Buffer; use: CodeCacheUse } {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return { use: 'none' };
  }
  if (cache.length < 4 || cache.readUInt32LE(0) !== source.length || !source.equals(cache.subarray(4, 4 + source.length))) return { use: 'made from another source' };
  return { data: cache.subarray(4 + source.length), use: 'used' };
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
 * Loads a CommonJS file as `require()` would, with its code cache when there is one for this very
 * source. With source maps on (`--enable-source-maps`), plainly with `require()`, which maps stack
 * traces.
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
  const length = Buffer.alloc(4);
  length.writeUInt32LE(source.length);
  const target = codeCachePath(file);
  writeFileSync(`${target}.tmp`, Buffer.concat([length, source, script.createCachedData()]));
  renameSync(`${target}.tmp`, target);
  return target;
}
