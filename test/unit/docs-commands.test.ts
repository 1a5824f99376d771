// Every rtrack command the documentation shows exists as written (issue 35): in README.md and
// docs/*.md, each `rtrack …` in a shell block (```sh, ```bash), each `$ rtrack …` line (and each
// command rtrack printed for you to run) in an output block, and each inline `rtrack …` code span
// names commands and options the CLI has — checked against the CLI's own commander program
// (src/cli/main.ts buildProgram), option values against the choices it takes.
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { documentationFiles, fences, inlines } from '../helpers/markdown.js';

const program = buildProgram(() => {});

type Word = { text: string; op?: true; redirect?: true };

/** A shell line split as the shell splits it, enough for documentation: quotes, operators, redirections, comments, $(…). */
export function shellWords(line: string): Word[] {
  const words: Word[] = [];
  let word = '';
  let inWord = false;
  const end = (): void => {
    if (inWord) words.push({ text: word });
    word = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      const stop = close < 0 ? line.length : close;
      word += line.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === '$' && line[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === '(') depth++;
        else if (line[j] === ')' && --depth === 0) break;
      }
      word += line.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (/\s/.test(c)) {
      end();
    } else if (c === '#' && !inWord) {
      break; // a comment
    } else if (c === '<' && !inWord && /^<[A-Za-z][^<>]*>/.test(line.slice(i))) {
      const close = line.indexOf('>', i);
      words.push({ text: line.slice(i, close + 1) }); // a placeholder, <agent>: not a redirection
      i = close;
    } else if (c === '>' || c === '<') {
      // A redirection: [n]>file, >>file, 2>&1, <&3, 3<&-; its target, when apart, is the next word.
      if (/^\d*$/.test(word)) {
        word = ''; // the descriptor it redirects
        inWord = false;
      } else end();
      let j = i + 1;
      while (j < line.length && /[<>&]/.test(line[j]!)) j++;
      const target = /^[^\s|;()&<>]*/.exec(line.slice(j))![0];
      j += target.length;
      words.push({ text: line.slice(i, j), redirect: true });
      if (target === '') {
        while (j < line.length && /\s/.test(line[j]!)) j++;
        const rest = shellWords(line.slice(j));
        return [...words, ...rest.slice(1)];
      }
      i = j - 1;
    } else if (c === '|' && inWord) {
      word += c; // auto|required|off: alternatives in a synopsis (a pipe in the documentation has spaces around it)
    } else if ('|&;()'.includes(c)) {
      end();
      const two = line.slice(i, i + 2);
      const op = two === '||' || two === '&&' ? two : c;
      words.push({ text: op, op: true });
      i += op.length - 1;
    } else {
      word += c;
      inWord = true;
    }
  }
  end();
  return words.map((w) => (!w.op && (w.text === '{' || w.text === '}') ? { text: w.text, op: true } : w));
}

/** What may stand before `rtrack` in a command that runs it: variables, sudo, npx, node and the like, and their options. */
const PREFIX = /^([A-Za-z_][A-Za-z0-9_]*=.*|-.*|sudo|npx|nohup|exec|env|time|setsid|systemd-run|(.*\/)?node)$/;

/** The simple commands of a line that run rtrack: the words after `rtrack` (or `…/rtrack.js`) in command position. */
export function rtrackCommands(line: string): string[][] {
  const out: string[][] = [];
  let segment: string[] = [];
  const flush = (): void => {
    const at = segment.findIndex((w) => /(^|\/)rtrack(\.js)?$/.test(w));
    const inPosition = at >= 0 && segment.slice(0, at).every((w) => PREFIX.test(w));
    if (inPosition && !/:$/.test(segment[at + 1] ?? '')) out.push(segment.slice(at + 1)); // `rtrack scan: 8 processes` is output
    segment = [];
  };
  for (const w of shellWords(line)) {
    if (w.op) flush();
    else if (!w.redirect) segment.push(w.text);
  }
  flush();
  return out;
}

const placeholder = (word: string): boolean => /[<…$]|\.\.\./.test(word);

function findOption(command: Command, flag: string): Option | 'help' | undefined {
  const found = command.options.find((o) => o.long === flag || o.short === flag);
  if (found) return found;
  if (flag === '-h' || flag === '--help') return 'help';
  return undefined;
}

/** Why `rtrack <words>` is not a command line the CLI takes, or undefined when it is. */
export function commandProblem(words: readonly string[], prose = false): string | undefined {
  let command = program;
  let path = 'rtrack';
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!.replace(/^\[+/, '').replace(/\]+$/, ''); // a synopsis's [--flag value]
    if (word === '' || word === '…' || word === '...') continue;
    if (word === '--') return command.registeredArguments.length > 0 ? undefined : `${path} takes no command after --`;
    if (word.startsWith('-') && word !== '-') {
      const [flag, inline] = word.split(/=(.*)/s) as [string, string | undefined];
      const option = findOption(command, flag) ?? (command === program && (flag === '-V' || flag === '--version') ? 'help' : undefined);
      if (!option) return `${path} has no option ${flag}`;
      if (option === 'help' || !(option.required || option.optional)) {
        if (inline !== undefined) return `${path} ${flag} takes no value`;
        continue;
      }
      let value = inline;
      if (value === undefined) {
        if (option.optional && (i + 1 >= words.length || words[i + 1]!.startsWith('-'))) continue;
        if (i + 1 >= words.length) return prose ? undefined : `${path} ${flag} is missing its value`; // prose names `run --report`
        value = words[++i]!.replace(/\]+$/, '');
      }
      if (option.argChoices && !placeholder(value)) {
        const wrong = value.split('|').filter((v) => !option.argChoices!.includes(v));
        if (wrong.length > 0) return `${path} ${flag} takes ${option.argChoices.join('|')}, not ${wrong.join('|')}`;
      }
      continue;
    }
    if (command.commands.length > 0) {
      if (placeholder(word)) return undefined; // `rtrack <command> --help`
      const names = word.split('|');
      const subs = names.map((n) => command.commands.find((c) => c.name() === n || c.aliases().includes(n)));
      const missing = names.filter((_, k) => !subs[k]);
      if (missing.length > 0) return `${path} has no command ${missing.join(', ')}`;
      if (subs.length > 1) return undefined; // `hooks install|uninstall|status`: each exists
      command = subs[0]!;
      path += ` ${command.name()}`;
      continue;
    }
    if (command.registeredArguments.length === 0) return `${path} takes no argument (${word})`;
    if ((command as unknown as { _passThroughOptions?: boolean })._passThroughOptions) return undefined; // run: the rest is the task's
  }
  return undefined;
}

interface Shown {
  where: string;
  words: string[];
  prose?: true;
}

/** Every rtrack command line the documentation shows. */
export function shownCommands(): Shown[] {
  const shown: Shown[] = [];
  for (const file of documentationFiles()) {
    for (const fence of fences(file)) {
      if (/^(ts|typescript|js|javascript|json|yaml|yml|ini|promql)$/.test(fence.lang)) continue;
      const shell = /^(sh|bash|shell)$/.test(fence.lang);
      const lines = fence.content.replace(/\\\n\s*/g, ' ').split('\n');
      lines.forEach((line, k) => {
        let text: string | undefined;
        if (shell) text = line;
        else {
          // Output: a command typed at a prompt, one rtrack printed for you to run, or one named in a comment.
          const m = /^\s*(?:\$|\/\/|#)\s+(.*)$/.exec(line) ?? /^\s+(rtrack\s.*)$/.exec(line);
          text = m?.[1];
        }
        if (text === undefined) return;
        for (const words of rtrackCommands(text)) shown.push({ where: `${file}:${fence.line + k}`, words });
      });
    }
    for (const span of inlines(file)) {
      // A span that is a command: rtrack first (after `sudo`, `npx`, variables); not output quoted in prose.
      if (span.kind !== 'code' || !/^(\$ )?((sudo|npx|-E|[A-Z_]+=\S*)\s+)*rtrack\s+\S/.test(span.text)) continue;
      for (const words of rtrackCommands(span.text)) shown.push({ where: `${file}:${span.line} \`${span.text}\``, words, prose: true });
    }
  }
  return shown;
}

describe('the commands the documentation shows', () => {
  it('every rtrack command in a shell block, an output block or an inline code span has the commands and options the CLI has', () => {
    const shown = shownCommands();
    expect(shown.length).toBeGreaterThan(150);
    const problems = shown.flatMap((s) => {
      const why = commandProblem(s.words, s.prose);
      return why ? [`${s.where}: ${why}`] : [];
    });
    expect(problems).toEqual([]);
    // The documentation shows every command there is.
    const named = new Set(shown.map((s) => s.words.filter((w) => /^[a-z]+$/.test(w)).slice(0, 2).join(' ')));
    const missing: string[] = [];
    for (const c of program.commands) {
      const paths = c.commands.length > 0 ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()];
      for (const p of paths) if (![...named].some((n) => n === p || n.startsWith(`${p} `))) missing.push(p);
    }
    expect(missing).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    const problem = (line: string): (string | undefined)[] => rtrackCommands(line).map((w) => commandProblem(w));
    expect(problem('rtrack scan --reap --match \'^python3 -m http\\.server 38111$\' --yes')).toEqual([undefined]);
    expect(problem('rtrack scan --no-such-flag')).toEqual(['rtrack scan has no option --no-such-flag']);
    expect(problem('rtrack scan --sort pid')).toEqual(['rtrack scan has no option --sort']); // snapshot's
    expect(problem('rtrack sacn')).toEqual(['rtrack has no command sacn']);
    expect(problem('rtrack hooks install claude --nope')).toEqual(['rtrack hooks install has no option --nope']);
    expect(problem('rtrack run --cgroup sometimes -- true')).toEqual(['rtrack run --cgroup takes auto|required|off, not sometimes']);
    expect(problem('rtrack scan --reap --match')).toEqual(['rtrack scan --match is missing its value']);
    expect(problem('rtrack sessions extra')).toEqual(['rtrack sessions takes no argument (extra)']);
    expect(problem('sudo -E rtrack watch --host 0.0.0.0 | tee log && rtrack scan --json >out 2>&1')).toEqual([undefined, undefined]);
    expect(problem('rtrack run --reap -- claude --no-such-flag-of-claude')).toEqual([undefined]);
    expect(problem("'/…/bin/node' '/…/rtrack/bin/rtrack.js' session start --agent claude-code --parent \"$PPID\" <&3 3<&- >/dev/null 2>&1 &")).toEqual([undefined]);
    expect(problem("systemd-run --user --scope -p Delegate=yes rtrack run --reap -- claude")).toEqual([undefined]);
    expect(problem("systemd-run --user --scope -p Delegate=yes rtrack run --reaps -- claude")).toEqual(['rtrack run has no option --reaps']);
    expect(problem('rtrack snapshot [--json] [--sort pid|memory] [--mcp]')).toEqual([undefined]);
    expect(problem('rtrack snapshot [--sort pid|size]')).toEqual(['rtrack snapshot --sort takes pid|memory, not size']);
    expect(problem('npm uninstall -g rtrack && rtrack scan | head')).toEqual([undefined]);
    expect(problem("[ -f '/…/rtrack/bin/rtrack.js' ]")).toEqual([]);
  });
});
