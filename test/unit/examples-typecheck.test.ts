// The library's examples compile as a strict user's project compiles them (issue 33 #7: the
// README's example failed `tsc --strict`: detectOrphans() was typed ProcessInfo[] and `.evidence`
// existed only at run time). Every ```ts block of the README and of docs/*.md (issue 35) and
// examples/orchestrator.ts are type-checked against the built package's declarations (dist/*.d.ts,
// as `import 'rtrack'` finds them through package.json's exports) under --strict
// --exactOptionalPropertyTypes, each a module of its own.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CHECKOUT, documentationFiles, fences, type Fence } from '../helpers/markdown.js';
import { tempDir } from '../helpers/temp.js';

/** The ```ts blocks of the README and of docs/*.md, with the file and line each starts on. */
function snippets(): Fence[] {
  return documentationFiles().flatMap((file) => fences(file).filter((f) => f.lang === 'ts' || f.lang === 'typescript'));
}

describe('the examples type-check under tsc --strict --exactOptionalPropertyTypes', () => {
  it('every TypeScript snippet of the README and docs/, and examples/orchestrator.ts', () => {
    const blocks = snippets();
    expect(blocks.filter((s) => s.file === 'README.md').length).toBeGreaterThanOrEqual(1);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // A user's project: `rtrack` installed (a link to this checkout, as npm install of a path makes it).
    const dir = tempDir('examples-tsc');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(CHECKOUT, join(dir, 'node_modules', 'rtrack'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const files = blocks.map((s) => {
      const file = join(dir, `${s.file.replace(/\W/g, '-')}-line-${s.line}.ts`);
      writeFileSync(file, `${s.content}\nexport {};\n`);
      return file;
    });
    const example = join(dir, 'orchestrator.ts');
    writeFileSync(example, readFileSync(join(CHECKOUT, 'examples', 'orchestrator.ts'), 'utf8'));
    files.push(example);
    const program = ts.createProgram(files, {
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(CHECKOUT, 'node_modules', '@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);
});
