// The package as users get it: installed under its name (`rtrack`), imported from ESM and required
// from CommonJS, its root exports exactly what the library's table documents (docs/library.md), and importing
// it does not load prom-client (that is `rtrack/metrics`).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(CHECKOUT, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  sideEffects: boolean;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/** A project that has `rtrack` installed (a symlink, as `npm install /path/to/checkout` makes). */
function project(): string {
  const dir = tempDir('consumer');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(CHECKOUT, join(dir, 'node_modules', 'rtrack'));
  return dir;
}

function node(cwd: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** The names in the first column of docs/library.md's table under "Exported from the package root". */
function documentedRootExports(): string[] {
  const library = readFileSync(join(CHECKOUT, 'docs', 'library.md'), 'utf8');
  expect(library).toContain('Exported from the package root');
  const table = library.slice(library.indexOf('Exported from the package root'));
  const lines = table.split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[] = [];
  for (let i = first; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!);
  const names = new Set<string>();
  for (const row of rows.slice(2)) {
    const cell = row.split(/(?<!\\)\|/)[1] ?? '';
    for (const m of cell.matchAll(/`([A-Za-z_]\w*)/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('the rtrack package', () => {
  it('is named rtrack (the npm name resource-tracker belongs to another package)', () => {
    expect(pkg.name).toBe('rtrack');
    expect(pkg.bin.rtrack).toBe('./bin/rtrack.js');
    expect(pkg.sideEffects).toBe(false);
  });

  it('import and require by name give the same root API, and the library table lists exactly it (runtime values and types)', () => {
    const dir = project();
    const esm = node(dir, ['--input-type=module', '-e', "const api = await import('rtrack'); console.log(JSON.stringify(Object.keys(api).sort()))"]);
    expect(esm.status, esm.stderr).toBe(0);
    const cjs = node(dir, ['-e', "const api = require('rtrack'); console.log(JSON.stringify(Object.keys(api).filter((k) => k !== '__esModule').sort()))"]);
    expect(cjs.status, cjs.stderr).toBe(0);
    const runtime = JSON.parse(esm.stdout) as string[];
    expect(JSON.parse(cjs.stdout)).toEqual(runtime);
    const declarations = readFileSync(join(CHECKOUT, 'dist', 'index.d.ts'), 'utf8');
    const typeNames = [...declarations.matchAll(/\b(?:type\s+)?([A-Z]\w*)\b/g)].map((m) => m[1]!);
    const documented = documentedRootExports();
    for (const name of runtime) expect(documented, `${name} is exported but not in docs/library.md's table`).toContain(name);
    for (const name of documented) {
      expect(runtime.includes(name) || typeNames.includes(name), `${name} is in docs/library.md's table but not exported`).toBe(true);
    }
  });

  it('rtrack/metrics and rtrack/parsers load by name; prom-client is loaded when metrics are made, not by an import', () => {
    const dir = project();
    const r = node(dir, [
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const api = await import('rtrack');
       const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('prom-client'));
       const before = loaded();
       const metrics = await import('rtrack/metrics');
       const parsers = await import('rtrack/parsers');
       const imported = loaded();
       const text = await metrics.createWatchMetrics({ defaultMetrics: false }).registry.metrics();
       console.log(JSON.stringify({ before, imported, made: loaded() && text.includes('rtrack_processes'), metrics: Object.keys(metrics).sort(), parsers: Object.keys(parsers).sort(), tracker: typeof api.ResourceTracker }));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { before: boolean; imported: boolean; made: boolean; metrics: string[]; parsers: string[]; tracker: string };
    expect(out).toEqual({
      before: false,
      imported: false,
      made: true,
      metrics: ['createWatchMetrics', 'readWebConfig', 'runMetricsText', 'startWatchServer'],
      parsers: ['parseCimJson', 'parsePsOutput', 'parseTasklistCsv', 'parseWmicCsv'],
      tracker: 'function',
    });
  });

  it('packs what a user runs — dist/, bin/, the README, the license, the examples — and builds before packing, never at install', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--logs-max=0'], { cwd: CHECKOUT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [packed] = JSON.parse(r.stdout) as { entryCount: number; size: number; unpackedSize: number; files: { path: string }[] }[];
    const paths = packed!.files.map((f) => f.path);
    expect(paths.filter((p) => !/^(dist|bin|examples)\//.test(p)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    for (const wanted of ['bin/rtrack.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.cjs', 'dist/cli/session-command.cjs', 'dist/cli/follower-main.cjs', 'dist/demo/leaky-task.js', 'examples/systemd/rtrack-watch.service']) {
      expect(paths).toContain(wanted);
    }
    // No sources, tests or source maps (they point into src/, which is not shipped); no code cache,
    // which only the Node that built it at that path can use; no internals of the repository's own.
    expect(paths.filter((p) => /^(src|test|bench)\/|\.map$|\.v8cache$|^dist\/internal\./.test(p))).toEqual([]);
    expect(packed!.entryCount).toBeLessThan(100); // 71 when written
    // 318 kB when written (1.4 MB and 169 files with src/ and maps); 455 kB with issue 36's fleet kit,
    // issue 33's library work and the CLI's own prom-client (minified, 67 kB; a library user no longer
    // installs prom-client and its three dependencies, 4.7 MB unpacked here).
    expect(packed!.size).toBeLessThan(500_000);
    const scripts = (pkg as unknown as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(scripts).filter((s) => /^(pre|post)?(install|prepare)$/.test(s))).toEqual([]);
    expect(scripts.prepack).toBe('npm run build');
  });

  it('prom-client is an optional peer dependency: a library user does not install it (issue 33 #7)', () => {
    expect(pkg.dependencies['prom-client']).toBeUndefined();
    expect(pkg.peerDependencies?.['prom-client']).toBeDefined();
    expect(pkg.peerDependenciesMeta?.['prom-client']?.optional).toBe(true);
  });

  it('installed without prom-client: the library runs a task, rtrack/metrics says what to install, the CLI still writes metrics with its own copy', () => {
    // As `npm install rtrack` leaves a project: the package's files (copied, so that nothing is found
    // through the checkout's own node_modules) and its dependencies, without prom-client.
    const dir = tempDir('without-prom');
    const installed = join(dir, 'node_modules', 'rtrack');
    mkdirSync(installed, { recursive: true });
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(CHECKOUT, part), join(installed, part), { recursive: true });
    for (const dep of Object.keys(pkg.dependencies)) symlinkSync(join(CHECKOUT, 'node_modules', dep), join(dir, 'node_modules', dep));
    const r = node(dir, [
      '--input-type=module',
      '-e',
      `const { runTracked } = await import('rtrack');
       const report = await runTracked('true', [], { stdio: 'ignore', cgroup: 'off' });
       const metrics = await import('rtrack/metrics');
       let error = '';
       try { metrics.createWatchMetrics(); } catch (err) { error = err.message; }
       console.log(JSON.stringify({ outcome: report.outcome, error }));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ outcome: 'exited', error: 'rtrack/metrics needs prom-client, an optional peer dependency of rtrack: npm install prom-client' });
    const file = join(dir, 'run.prom');
    const cli = node(dir, [join(installed, 'bin', 'rtrack.js'), 'run', '--quiet', '--cgroup', 'off', '--metrics-file', file, '--', 'true']);
    expect(cli.status, cli.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^rtrack_run_orphans 0$/m);
  });

  it("rtrack/metrics and rtrack/parsers type-check under moduleResolution node10 too (issue 33 #7)", async () => {
    const ts = (await import('typescript')).default;
    const dir = project();
    const file = join(dir, 'consumer.ts');
    writeFileSync(file, "import { createWatchMetrics } from 'rtrack/metrics';\nimport { parsePsOutput } from 'rtrack/parsers';\nimport type { TaskReport } from 'rtrack';\nexport const made: ReturnType<typeof createWatchMetrics> | undefined = undefined;\nexport const parsed = parsePsOutput('');\nexport type Outcome = TaskReport['outcome'];\n");
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(CHECKOUT, 'node_modules', '@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  }, 30_000);
});
