// Command-line patterns. Pure: strings in, booleans out.
import { escapeUnprintable } from '../text.js';

/** The seed's MCP/browser pattern. */
const MCP_PROCESS_PATTERN = /(playwright|chromium|chrome|firefox|webkit|puppeteer|selenium)/i;

/** What an agent session typically leaves: the MCP pattern plus MCP servers, npx/npm exec starters, node and claude. */
const AGENT_HELPER_PATTERN =
  /(playwright|chromium|chrome|firefox|webkit|puppeteer|selenium|\bmcp\b|mcp[-_]|[-_]mcp|\bnpx\b|\bnpm exec\b|npm-exec|(^|\/)node(\s|$)|\bclaude\b)/i;

/** Commands of processes that adopt orphans: init systems, container inits and service managers that set PR_SET_CHILD_SUBREAPER. */
const SUBREAPER_PATTERN =
  /^(\S*\/)?(systemd|init|tini|dumb-init|docker-init|catatonit|containerd-shim\S*|s6-svscan|runsvdir|supervisord|launchd)(\s|$)/;

/**
 * Per-user daemons that a task may happen to be the first to start, and that the user's other
 * sessions then share: leaked by the letter, but killing one breaks everything else that uses it.
 * Kept by default (config `keep_shared_daemons: false` turns the list off; `keep` extends it).
 * Matched against the full command line.
 */
export const SHARED_DAEMONS: readonly { name: string; pattern: RegExp }[] = [
  // ControlPersist: the master retitles itself "ssh: <control path> [mux]".
  { name: 'ssh ControlMaster', pattern: /^ssh: \S.* \[mux\]/ },
  { name: 'ssh-agent', pattern: /^(\S*\/)?ssh-agent(\s|$)/ },
  { name: 'gpg-agent', pattern: /^(\S*\/)?gpg-agent(\s|$)/ },
  { name: 'keyboxd', pattern: /^(\S*\/)?keyboxd(\s|$)/ },
  { name: 'dbus-daemon', pattern: /^(\S*\/)?dbus-(daemon|broker|broker-launch)(\s|$)/ },
  { name: 'podman conmon', pattern: /^(\S*\/)?conmon(\s|$)/ },
  { name: 'Gradle daemon', pattern: /\borg\.gradle\.launcher\.daemon\.bootstrap\.GradleDaemon\b/ },
  { name: 'Kotlin daemon', pattern: /\borg\.jetbrains\.kotlin\.daemon\.KotlinCompileDaemon\b/ },
  // The Bazel server names itself after its workspace: "bazel(myproject) -XX:… -jar …/A-server.jar".
  { name: 'Bazel server', pattern: /^bazel\([^)]*\)(\s|$)/ },
];

/** The shared per-user daemon this command line belongs to, if any. */
export function sharedDaemonOf(commandLine: string): string | undefined {
  for (const d of SHARED_DAEMONS) if (d.pattern.test(commandLine)) return d.name;
  return undefined;
}

/** The text keep patterns, `--match` and the agent-helper filter are matched against: the command line as read, else the display form. */
export function fullCommand(p: { command: string; commandLine?: string }): string {
  return p.commandLine ?? p.command;
}

/** Whether a command matches the seed's MCP/browser pattern (playwright, chromium, chrome, firefox, webkit, puppeteer, selenium; any case). */
export function isMCPProcess(command: string): boolean {
  return MCP_PROCESS_PATTERN.test(command);
}

export function isAgentHelper(command: string): boolean {
  return AGENT_HELPER_PATTERN.test(command);
}

export function looksLikeSubreaper(command: string): boolean {
  return SUBREAPER_PATTERN.test(command);
}

/** Compiles keep patterns (compiled ones pass through); a bad one throws naming the entry (`label[index]`). */
export function compileKeepPatterns(patterns: readonly (string | RegExp)[], label = 'keep'): RegExp[] {
  return patterns.map((source, index) => {
    if (source instanceof RegExp) return source;
    try {
      return new RegExp(source);
    } catch (err) {
      throw new Error(`${label}[${index}]: invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
    }
  });
}

export function matchesAny(command: string, patterns: readonly RegExp[]): boolean {
  for (const p of patterns) if (p.test(command)) return true;
  return false;
}

/** The text as a regular expression that matches exactly it. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A `--match` pattern that names this tree's root among the others (roots of the other suspected
 * trees), short enough to be typed: the program's name (after any directory) and as many of its
 * arguments as fit in about 40 characters, more when that would also match a root with another
 * command line; the whole command line anchored at its end when all of it is used. Roots with the
 * same command line are named together. Matched as `--match` is, against the whole command line.
 * Unprintable characters are written as the regular expression's escapes (`\n`, `\x1b`): the
 * pattern is printable, and the same.
 */
export function matchPatternFor(root: { command: string; commandLine?: string }, others: readonly { command: string; commandLine?: string }[]): string {
  const text = fullCommand(root);
  const [program = '', ...args] = text.split(' ');
  const slash = program.lastIndexOf('/');
  const lead = slash >= 0 ? `^(\\S*/)?${escapeRegExp(program.slice(slash + 1))}` : `^${escapeRegExp(program)}`;
  const distinct = others.map(fullCommand).filter((c) => c !== text);
  for (let n = 0; n <= args.length; n++) {
    const words = n > 0 ? ` ${escapeRegExp(args.slice(0, n).join(' '))}` : '';
    const pattern = escapeUnprintable(`${lead}${words}${n === args.length ? '$' : '( |$)'}`);
    if (n < args.length && pattern.length < SHORT_PATTERN) continue;
    const regex = new RegExp(pattern);
    if (!distinct.some((c) => regex.test(c))) return pattern;
  }
  // Another root differs only in the program's directory: the whole command line.
  return escapeUnprintable(`^${escapeRegExp(text)}$`);
}

/** How long a `matchPatternFor` pattern may grow before it stops adding arguments that are not needed. */
const SHORT_PATTERN = 40;
