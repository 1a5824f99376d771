// `npm run build`, second step: tsc has checked the sources and written the type declarations into
// dist/; esbuild writes the JavaScript, bundled, because Node's module loader costs about half a
// millisecond a file: `import('rtrack')` loaded 35 modules in 24–30 ms, one file in 10–12
// (BENCHMARKS.md). Source maps point at src/ (`node --enable-source-maps`).
import { build } from 'esbuild';

const common = {
  outbase: 'src',
  outdir: 'dist',
  entryNames: '[dir]/[name]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external', // commander, yaml, prom-client: loaded from node_modules, and only where used
  keepNames: true, // classes and functions keep the names the sources give them
  sourcemap: true,
  logLevel: 'warning',
};

// The library: package.json's exports. Split, so that the code they share is in chunks and a class
// is the same class from every entry point (an error thrown by `rtrack/metrics`'s scan is
// `instanceof` the one `rtrack` exports).
await build({
  ...common,
  entryPoints: ['src/index.ts', 'src/metrics.ts', 'src/parsers.ts'],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

// The CLI: what bin/rtrack.js loads (the full CLI, or the hooks' fast path) and the follower it
// starts, as CommonJS: Node then starts without its ES module loader, which cost `rtrack run` about
// 15 ms of its start (BENCHMARKS.md). One file each: a command's modules are evaluated only when it
// runs (esbuild wraps what is imported dynamically), and prom-client is required only by what makes
// metrics. `import.meta.url` becomes the file's own URL.
await build({
  ...common,
  entryPoints: ['src/cli/main.ts', 'src/cli/session-command.ts', 'src/cli/follower-main.ts'],
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
});

// The demo's leaky task (a program `rtrack demo` runs), and the internals this repository's
// benchmarks and tests reach (src/internal.ts, not exported; it hands readers and plain data, no
// class, to the library).
await build({ ...common, entryPoints: ['src/demo/leaky-task.ts', 'src/internal.ts'] });
