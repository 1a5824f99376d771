// Every link of the documentation resolves (issue 35): README.md, docs/*.md and BENCHMARKS.md link
// each other, the examples and the sources by relative paths and GitHub's heading anchors; a file
// that moved or a heading that was renamed must fail here, not on github.com.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchors, CHECKOUT, documentationFiles, inlines } from '../helpers/markdown.js';

const FILES = [...documentationFiles(), 'BENCHMARKS.md'];

/** Why a link does not resolve, or undefined when it does. */
function broken(file: string, href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined; // https:, mailto: — not ours to check here
  const [path = '', anchor] = href.split('#', 2) as [string, string | undefined];
  const target = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
  if (target.startsWith('..')) return `${href} leaves the repository`;
  if (!existsSync(join(CHECKOUT, target))) return `${href}: no file ${target}`;
  if (anchor === undefined) return undefined;
  if (!target.endsWith('.md') || statSync(join(CHECKOUT, target)).isDirectory()) return `${href}: an anchor into a file that is not markdown`;
  if (!anchors(target).has(anchor)) return `${href}: ${target} has no heading whose anchor is #${anchor}`;
  return undefined;
}

describe('the documentation links', () => {
  it('every relative link and #anchor in README.md, docs/*.md and BENCHMARKS.md resolves', () => {
    const links = FILES.flatMap((f) => inlines(f).filter((i) => i.kind === 'link'));
    expect(links.length).toBeGreaterThan(100);
    const problems = links.flatMap((l) => {
      const why = broken(l.file, l.text);
      return why ? [`${l.file}:${l.line} ${why}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('the README links every file of docs/, and every doc links back to the README', () => {
    const docs = documentationFiles().filter((f) => f.startsWith('docs/'));
    expect(docs.length).toBeGreaterThanOrEqual(10);
    const fromReadme = new Set(
      inlines('README.md')
        .filter((i) => i.kind === 'link' && !/^[a-z]+:/i.test(i.text))
        .map((i) => normalize(i.text.split('#')[0]!)),
    );
    expect(docs.filter((d) => !fromReadme.has(d))).toEqual([]);
    for (const doc of docs) {
      const targets = inlines(doc).filter((i) => i.kind === 'link').map((i) => normalize(join(dirname(doc), i.text.split('#')[0]!)));
      expect(targets, `${doc} does not link the README`).toContain('README.md');
    }
  });

  it('catches what it is meant to catch', () => {
    expect(broken('README.md', 'docs/no-such-file.md')).toMatch(/no file/);
    expect(broken('README.md', 'docs/reaping.md#no-such-heading')).toMatch(/no heading/);
    expect(broken('docs/reaping.md', '#no-such-heading')).toMatch(/no heading/);
    expect(broken('docs/reaping.md', '../README.md')).toBeUndefined();
    expect(broken('docs/reaping.md', '../../elsewhere.md')).toMatch(/leaves/);
  });
});
