// The library's examples compile as a strict user's project compiles them (issue 33 #7: the
// README's example failed `tsc --strict`: detectOrphans() was typed ProcessInfo[] and `.evidence`
// existed only at run time). Every ```ts block of the README and examples/orchestrator.ts are
// type-checked against the built package's declarations (dist/*.d.ts, as `import 'rtrack'` finds
// them through package.json's exports) under --strict --exactOptionalPropertyTypes, each a module of
// its own.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

/** The ```ts blocks of the README, with the line each starts on. */
function readmeSnippets(): { line: number; code: string }[] {
  const lines = readFileSync(join(CHECKOUT, 'README.md'), 'utf8').split('\n');
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

describe('the examples type-check under tsc --strict --exactOptionalPropertyTypes', () => {
  it("every TypeScript snippet of the README, and examples/orchestrator.ts", () => {
    const snippets = readmeSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(3);
    // A user's project: `rtrack` installed (a link to this checkout, as npm install of a path makes it).
    const dir = tempDir('examples-tsc');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(CHECKOUT, join(dir, 'node_modules', 'rtrack'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const files = snippets.map((s) => {
      const file = join(dir, `readme-line-${s.line}.ts`);
      writeFileSync(file, `${s.code}\nexport {};\n`);
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
