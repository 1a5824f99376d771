// Functions that read as steps: no function in src/ is longer than 100 lines (issue 35). A function
// that grows past it — a case added each review round — is split into named steps, each with its
// inputs in sight. Measured with the TypeScript compiler, from the line a function starts on (its
// doc comment not counted) to its closing brace, whatever kind it is (declaration, method, arrow,
// function expression, constructor, accessor).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 100;

/** Each function of a source text longer than `max` lines: where it starts, its name, its length. */
function longFunctions(fileName: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push(`${fileName}:${first + 1} ${nameOf(node)} is ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A function's name: its own, the variable or property it is assigned to, or `(anonymous)`. */
function nameOf(node: ts.SignatureDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name !== undefined) return parent.name.getText();
  return '(anonymous)';
}

/** Every .ts file under a directory. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** A function of `n` lines, of each kind the measure counts. */
const body = (n: number): string => Array.from({ length: n - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');

describe('functions read as steps', () => {
  it(`no function in src/ is longer than ${MAX_LINES} lines: a longer one is split into named steps`, () => {
    const long = sources(join(CHECKOUT, 'src')).flatMap((path) => longFunctions(relative(CHECKOUT, path), readFileSync(path, 'utf8'), MAX_LINES));
    expect(long).toEqual([]);
  });

  it('the measure finds a long function of every kind, and passes one of exactly the limit', () => {
    const kinds = [
      (n: number) => `function declared() {\n${body(n)}\n}`,
      (n: number) => `const arrow = () => {\n${body(n)}\n};`,
      (n: number) => `const expression = function () {\n${body(n)}\n};`,
      (n: number) => `const object = {\n  method() {\n${body(n)}\n  },\n};`,
      (n: number) => `class Klass {\n  constructor() {\n${body(n)}\n  }\n}`,
      (n: number) => `export function outer() {\n  return () => {\n${body(n - 2)}\n  };\n}`,
    ];
    for (const kind of kinds) {
      expect(longFunctions('x.ts', kind(MAX_LINES), MAX_LINES)).toEqual([]);
      expect(longFunctions('x.ts', kind(MAX_LINES + 1), MAX_LINES)).toHaveLength(1);
    }
    expect(longFunctions('x.ts', `const object = {\n  method() {\n${body(MAX_LINES + 1)}\n  },\n};`, MAX_LINES)).toEqual([`x.ts:2 method is ${MAX_LINES + 1} lines`]);
  });
});
