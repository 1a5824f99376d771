// Command-line patterns. Pure: strings in, booleans out.

/** The seed's MCP/browser pattern. */
const MCP_PROCESS_PATTERN = /(playwright|chromium|chrome|firefox|webkit|puppeteer|selenium)/i;

/** What an agent session typically leaves: the MCP pattern plus MCP servers, npx/npm exec starters, node and claude. */
const AGENT_HELPER_PATTERN =
  /(playwright|chromium|chrome|firefox|webkit|puppeteer|selenium|\bmcp\b|mcp[-_]|[-_]mcp|\bnpx\b|\bnpm exec\b|npm-exec|(^|\/)node(\s|$)|\bclaude\b)/i;

/** Commands of processes that adopt orphans: init systems, container inits and service managers that set PR_SET_CHILD_SUBREAPER. */
const SUBREAPER_PATTERN =
  /^(\S*\/)?(systemd|init|tini|dumb-init|docker-init|catatonit|containerd-shim\S*|s6-svscan|runsvdir|supervisord|launchd)(\s|$)/;

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
