// `npm run build`, second step: tsc has checked the sources and written the type declarations into
// dist/; esbuild writes the JavaScript, bundled, because Node's module loader costs about half a
// millisecond a file: `import('rtrack')` loaded 35 modules in 24–30 ms, one file in 10–12
// (BENCHMARKS.md). Source maps point at src/ (`node --enable-source-maps`).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
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

// The CLI: what bin/rtrack.js loads (the full CLI, or the hooks' fast path; code-cache.cjs, which
// loads the full CLI) and the follower it starts, as CommonJS: Node then starts without its ES module
// loader, which cost `rtrack run` about 15 ms of its start (BENCHMARKS.md). One file each: a
// command's modules are evaluated only when it runs (esbuild wraps what is imported dynamically), and
// prom-client is required only by what makes metrics. commander is bundled in, so that the code
// cache below holds it too; yaml and prom-client stay in node_modules, loaded where used.
// `import.meta.url` becomes the file's own URL.
const { packages: _allExternal, ...cli } = common;
await build({
  ...cli,
  external: ['yaml', 'prom-client'],
  entryPoints: ['src/cli/main.ts', 'src/cli/session-command.ts', 'src/cli/follower-main.ts', 'src/cli/code-cache.ts'],
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // The CLI makes metrics (watch, --metrics-file) with its own copy of prom-client, below: prom-client
  // is an optional peer dependency of the library, which a library user need not install.
  define: { 'import.meta.url': '__importMetaUrl', RTRACK_BUNDLED_PROM_CLIENT: JSON.stringify('./prom-client.cjs') },
});

// prom-client for the CLI, one file of its own beside it, required only when metrics are made; the
// licences of what it holds (prom-client and its dependencies) beside it.
const promBuild = await build({
  stdin: { contents: "module.exports = require('prom-client');", resolveDir: '.', sourcefile: 'prom-client.cjs', loader: 'js' },
  outfile: 'dist/cli/prom-client.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  legalComments: 'eof',
  minify: true, // third-party code, loaded only to make metrics: the package stays small (it is its licences' file that names it)
  metafile: true,
  logLevel: 'warning',
});
const bundledPackages = new Map();
for (const input of Object.keys(promBuild.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) bundledPackages.set(m[1], join('node_modules', m[1]));
}
const licences = [...bundledPackages].sort().map(([name, dir]) => {
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  return `${name}@${version} (${license})\n\n${file ? readFileSync(join(dir, file), 'utf8').trim() : '(no licence file)'}\n`;
});
writeFileSync('dist/cli/prom-client.cjs.LICENSES.txt', `What dist/cli/prom-client.cjs bundles, and its licences.\n\n${licences.join('\n' + '-'.repeat(72) + '\n\n')}`);

// The full CLI's code cache (src/cli/code-cache.ts): a fresh Node runs one tracked command through
// the new bundle — `rtrack run --quiet --cgroup off -- node -e 0`, in the temporary directory, so
// that no config file is read — and saves what V8 compiled for it beside the bundle. Without it
// (this fails where processes cannot be listed) the CLI works as well, a few milliseconds slower.
const main = fileURLToPath(new URL('dist/cli/main.cjs', import.meta.url));
const loader = fileURLToPath(new URL('dist/cli/code-cache.cjs', import.meta.url));
const train = `require(${JSON.stringify(loader)}).writeCodeCache(${JSON.stringify(main)}, async (cli) => {
  const status = await cli.main(['run', '--quiet', '--cgroup', 'off', '--', process.execPath, '-e', '0']);
  if (status !== 0) throw new Error('the command exited ' + status);
}).catch((err) => { console.error(err.message); process.exitCode = 1; });`;
const made = spawnSync(process.execPath, ['-e', train], { cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (made.status !== 0) console.warn(`bundle.js: no code cache for the CLI (${(made.stderr || made.error?.message || '').trim().split('\n').pop()}); it starts without one`);

// The demo's leaky task (a program `rtrack demo` runs), and the internals this repository's
// benchmarks and tests reach (src/internal.ts, not exported; it hands readers and plain data, no
// class, to the library).
await build({ ...common, entryPoints: ['src/demo/leaky-task.ts', 'src/internal.ts'] });
