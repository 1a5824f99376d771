// Command-line patterns. Pure: strings in, booleans out.

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
