// How src/ is built, floor on floor (issue 35). The import graph of every file in src/, drawn with
// the TypeScript compiler's parser (`import`, `import type`, `export … from`, `import()` and
// `import('…').T` alike: a type is a dependency for whoever reads the code), has no cycle, and no
// file imports from a floor above its own. The floors, lowest first:
//   base         src/types.ts, errors.ts, text.ts, event-loop.ts, validate.ts: the shared records,
//                error kinds and helpers; they import nothing of src/
//   rules/       pure verdicts on plain data (see below)
//   ground       src/files.ts, config.ts, log.ts, said-once.ts: the user's files, config and log
//                lines, shared by the floors above; they use rules (config compiles keep patterns,
//                files.ts judges the state directory with rules/follower-state.ts)
//   platform/    the OS readers, one thin module per OS
//   tracking/    evidence: snapshots, lineage, task tags, the follower's records as they are read
//   operations/  what users do: run, scan, reap (the gate's one way to a signal), watch, the follower
//   hooks/       the agents' settings: rtrack's hooks and opencode plugin installed, removed, reported
//   cli/         the command line over all of it
// A file imports from its own floor or lower ones. Entry points import from any floor and are
// imported by none: src/index.ts, metrics.ts, parsers.ts (the package's exports), internal.ts (what
// this repository's benchmarks and tests reach) and demo/ (a program of its own). What the package
// exports never reaches hooks/ or cli/.
// rules/ is pure: a rule imports other rules, types.ts and text.ts (themselves pure) and nothing
// else — no module of Node's, no package — and names no global that reaches outside the process's
// memory (process, require, timers, the clock, randomness, the console). So are the pure parts of
// hooks/, which their table and property tests take for granted.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

const FLOORS = ['base', 'rules', 'ground', 'platform', 'tracking', 'operations', 'hooks', 'cli'] as const;
type Floor = (typeof FLOORS)[number] | 'entry';
const ROOT_FILES: Readonly<Record<string, Floor>> = {
  'types.ts': 'base',
  'errors.ts': 'base',
  'text.ts': 'base',
  'event-loop.ts': 'base',
  'validate.ts': 'base',
  'files.ts': 'ground',
  'config.ts': 'ground',
  'log.ts': 'ground',
  'said-once.ts': 'ground',
  'index.ts': 'entry',
  'metrics.ts': 'entry',
  'parsers.ts': 'entry',
  'internal.ts': 'entry',
};
const FOLDERS: Readonly<Record<string, Floor>> = { rules: 'rules', platform: 'platform', tracking: 'tracking', operations: 'operations', hooks: 'hooks', cli: 'cli', demo: 'entry' };
/** What the package exports (package.json `exports`). */
const PACKAGE_ENTRIES = ['index.ts', 'metrics.ts', 'parsers.ts'];
/** The pure parts of hooks/: plain data in, text (a command, a plugin, edits) out. */
const PURE_HOOKS = ['hook-commands.ts', 'hook-input.ts', 'json-text-edits.ts', 'opencode-plugin.ts', 'path-safety.ts', 'settings-edits.ts'].map((f) => `hooks/${f}`);

/** A floor for a file of src/ (its path relative to src/), or undefined when this test does not place it. */
function floorOf(file: string): Floor | undefined {
  const [first, ...rest] = file.split('/');
  return rest.length === 0 ? ROOT_FILES[first!] : FOLDERS[first!];
}

interface Import {
  /** As written: `./tree.js`, `node:fs`, `jsonc-parser`. */
  specifier: string;
  /** The file of src/ it names (relative to src/); undefined for a module of Node's or a package. */
  file?: string;
  typeOnly: boolean;
}

interface Module {
  file: string;
  source: ts.SourceFile;
  imports: Import[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every import of a parsed file, however written. */
function importsOf(source: ts.SourceFile, file: string): Import[] {
  const found: Import[] = [];
  const add = (node: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!node || !ts.isStringLiteral(node)) return;
    const specifier = node.text;
    found.push({ specifier, typeOnly, ...(specifier.startsWith('.') ? { file: relative(SRC, resolve(dirname(join(SRC, file)), specifier.replace(/\.js$/, '.ts'))) } : {}) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], false);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal as ts.Expression, true);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const modules = new Map<string, Module>(
  sourceFiles(SRC).map((path) => {
    const file = relative(SRC, path);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
    return [file, { file, source, imports: importsOf(source, file) }];
  }),
);

const edges = (file: string): string[] => [...new Set(modules.get(file)!.imports.flatMap((i) => (i.file === undefined ? [] : [i.file])))];

/** The cycles of the graph, each as the path that closes it (`a.ts → b.ts → a.ts`). */
function cycles(): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of edges(file)) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next) && modules.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...modules.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

/** The names of globals a pure module must not use: they reach outside the process's memory, or make a result differ from call to call. */
const IMPURE_GLOBALS = new Set(['process', 'require', 'module', 'globalThis', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'performance', 'console', 'crypto', 'Atomics']);

/** Where a pure module reaches outside: impure globals it names, `Date.now()`, `new Date()`, `Math.random()`. Strings and comments are not looked at. */
function impurities(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const at = (node: ts.Node): string => `line ${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && IMPURE_GLOBALS.has(node.text)) {
      const parent = node.parent;
      const isName =
        ((ts.isPropertyAccessExpression(parent) || ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent)) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node);
      if (!isName) found.push(`${node.text} (${at(node)})`);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const name = `${node.expression.text}.${node.name.text}`;
      if (name === 'Date.now' || name === 'Math.random') found.push(`${name} (${at(node)})`);
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date' && (node.arguments?.length ?? 0) === 0) found.push(`new Date() (${at(node)})`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the layers of src/', () => {
  it('every file of src/ is on a floor (a new one is placed in this test, and its comment)', () => {
    expect([...modules.keys()].filter((f) => floorOf(f) === undefined)).toEqual([]);
  });

  it('every import of a file of src/ names a file that is there', () => {
    const missing = [...modules.values()].flatMap((m) => m.imports.filter((i) => i.file !== undefined && !modules.has(i.file)).map((i) => `${m.file}: ${i.specifier}`));
    expect(missing).toEqual([]);
  });

  it('has no cycle: no file depends, through others, on itself', () => {
    expect(cycles()).toEqual([]);
  });

  it('no file imports from a floor above its own, and none imports an entry point', () => {
    const wrong: string[] = [];
    for (const file of modules.keys()) {
      const from = floorOf(file)!;
      for (const to of edges(file)) {
        const floor = floorOf(to);
        if (floor === undefined) continue; // said by the first test
        if (floor === 'entry') wrong.push(`${file} imports the entry point ${to}`);
        else if (from !== 'entry' && FLOORS.indexOf(floor) > FLOORS.indexOf(from)) wrong.push(`${file} (${from}) imports ${to} (${floor}), a floor above`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('what the package exports reaches nothing of hooks/ or cli/', () => {
    const reached = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file) || !modules.has(file)) return;
      reached.add(file);
      for (const next of edges(file)) visit(next);
    };
    for (const entry of PACKAGE_ENTRIES) visit(entry);
    expect([...reached].filter((f) => /^(hooks|cli)\//.test(f))).toEqual([]);
  });

  it('rules/ and the pure parts of hooks/ are pure: they import only each other, types.ts and text.ts, no module of Node or a package, and name nothing that does I/O', () => {
    const pure = new Set([...[...modules.keys()].filter((f) => f.startsWith('rules/')), 'types.ts', 'text.ts', ...PURE_HOOKS]);
    for (const file of PURE_HOOKS) expect(modules.has(file), `${file} is listed as pure but is not in src/`).toBe(true);
    const wrong: string[] = [];
    for (const file of pure) {
      const m = modules.get(file)!;
      for (const i of m.imports) {
        if (i.file !== undefined ? !pure.has(i.file) : !i.typeOnly || i.specifier.startsWith('node:')) wrong.push(`${file} imports ${i.specifier}`);
      }
      wrong.push(...impurities(m.source).map((what) => `${file} uses ${what}`));
    }
    expect(wrong).toEqual([]);
  });

  it('sees what it must: an import, a type-only import, an import() and an impure global are each found', () => {
    const source = ts.createSourceFile(
      'x.ts',
      "import { a } from './a.js';\nimport type { B } from '../b.js';\nexport { c } from './c.js';\nconst d = await import('./d.js');\ntype E = import('./e.js').E;\nconst f = process.env.F; // process.exit in a comment\nconst g = 'process.pid in a string';\nconst h = { process: 1 }.process;\nconst t = Date.now();\n",
      ts.ScriptTarget.ES2022,
      true,
    );
    expect(importsOf(source, 'rules/x.ts').map((i) => [i.file, i.typeOnly])).toEqual([
      ['rules/a.ts', false],
      ['b.ts', true],
      ['rules/c.ts', false],
      ['rules/d.ts', false],
      ['rules/e.ts', true],
    ]);
    expect(impurities(source)).toEqual(['process (line 6)', 'Date.now (line 9)']);
  });
});
