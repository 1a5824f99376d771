// The documentation as the tests read it: README.md and docs/*.md (docs/api/ is typedoc's output,
// not in git), parsed by markdown-it (CommonMark, with GitHub's tables), each fenced block, link,
// inline code span and heading with the file and line it is on. Anchors are GitHub's
// (github-slugger: what github.com gives a heading).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';

export const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

/** The documentation files, as paths relative to the checkout: README.md, then docs/*.md. */
export function documentationFiles(): string[] {
  const docs = existsSync(join(CHECKOUT, 'docs')) ? readdirSync(join(CHECKOUT, 'docs')).filter((f) => f.endsWith('.md')).sort() : [];
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

const md = new MarkdownIt({ html: true });
type Token = ReturnType<MarkdownIt['parse']>[number];
const parsed = new Map<string, Token[]>();

/** markdown-it's tokens of one file (relative to the checkout); cached. */
function tokens(file: string): Token[] {
  let t = parsed.get(file);
  if (!t) {
    t = md.parse(readFileSync(join(CHECKOUT, file), 'utf8'), {});
    parsed.set(file, t);
  }
  return t;
}

export interface Fence {
  file: string;
  /** 1-based line of the fence's first content line. */
  line: number;
  /** The info string's first word (`ts`, `sh`, ``; lower case). */
  lang: string;
  content: string;
}

/** Every fenced code block. */
export function fences(file: string): Fence[] {
  return tokens(file)
    .filter((t) => t.type === 'fence')
    .map((t) => ({ file, line: t.map![0] + 2, lang: t.info.trim().split(/\s+/)[0]!.toLowerCase(), content: t.content }));
}

export interface Inline {
  file: string;
  line: number;
  kind: 'link' | 'code';
  /** A link's href, or a code span's text. */
  text: string;
}

/** Every link (href) and inline code span outside code blocks, with the line of the block it is in. */
export function inlines(file: string): Inline[] {
  const out: Inline[] = [];
  let line = 1; // a table cell's inline token has no line of its own: its row's
  for (const block of tokens(file)) {
    if (block.map) line = block.map[0] + 1;
    if (block.type !== 'inline' || !block.children) continue;
    for (const child of block.children) {
      if (child.type === 'link_open') out.push({ file, line, kind: 'link', text: child.attrGet('href') ?? '' });
      else if (child.type === 'code_inline') out.push({ file, line, kind: 'code', text: child.content });
    }
  }
  // Links written as HTML (<a href="…">) in text or HTML blocks.
  for (const t of tokens(file)) {
    const html = t.type === 'html_block' ? t.content : '';
    for (const m of html.matchAll(/<a\s[^>]*href="([^"]+)"/g)) out.push({ file, line: t.map![0] + 1, kind: 'link', text: m[1]! });
  }
  return out;
}

/** The anchors GitHub gives the headings of a file (and any `<a id>`/`<a name>` in it). */
export function anchors(file: string): Set<string> {
  const slugger = new GithubSlugger();
  const out = new Set<string>();
  const list = tokens(file);
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    if (t.type === 'heading_open') {
      const inline = list[i + 1]!;
      const text = (inline.children ?? []).map((c) => (c.type === 'text' || c.type === 'code_inline' ? c.content : '')).join('');
      out.add(slugger.slug(text));
    }
    if (t.type === 'html_block' || t.type === 'html_inline') {
      for (const m of t.content.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
    }
    for (const c of t.children ?? []) {
      if (c.type === 'html_inline') for (const m of c.content.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
    }
  }
  return out;
}

/** The text of a section: from the heading whose text starts with `heading` to the next heading of its level or above. */
export function section(file: string, heading: string): string {
  const lines = readFileSync(join(CHECKOUT, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`${file} has no heading that starts with "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end = start + 1;
  let fenced = false;
  for (; end < lines.length; end++) {
    if (lines[end]!.startsWith('```')) fenced = !fenced;
    const m = /^(#{1,6}) /.exec(lines[end]!);
    if (!fenced && m && m[1]!.length <= level) break;
  }
  return lines.slice(start, end).join('\n');
}
