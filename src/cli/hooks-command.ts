// `rtrack hooks install|uninstall|status`: the agent named, the options as the command line gave
// them, and what was done printed. What a settings file is and how rtrack changes it — the hooks'
// command, the edits of the file's text, the opencode plugin, the checks of links and of who could
// replace what the hooks run — is src/hooks/.
import { HOOK_AGENTS, NO_HOOKS, PLUGIN_AGENTS, type HookAgent, type PluginAgent } from '../hooks/hook-commands.js';
import { installAgentHooks } from '../hooks/install.js';
import { hooksStatusLines } from '../hooks/status.js';
import { removeAgentHooks } from '../hooks/uninstall.js';
import { agentWithAlias, canonicalAgentName } from '../rules/agents.js';
import { UsageError } from './common.js';

export interface HooksOptions {
  settings?: string;
  dryRun?: boolean;
  config?: string;
  /** install: turn reaping on in the per-user config. */
  reap?: boolean;
  /** install: name rtrack, Node or the config even where others could put their own file in their place. */
  allowSharedPath?: boolean;
  /** uninstall: keep no backup of the settings (`rtrack uninstall` removes rtrack's backups). */
  noBackup?: boolean;
}

/** The agent named (or its command's name), when rtrack installs hooks (opencode: its plugin) for it; else one line saying why not (exit 2). */
function hookAgent(name: string): HookAgent | PluginAgent {
  const agent = canonicalAgentName(name);
  if (agent === undefined) {
    throw new UsageError(`hooks: unknown agent ${JSON.stringify(name)} (hooks: ${HOOK_AGENTS.map(agentWithAlias).join(', ')}; a plugin: ${PLUGIN_AGENTS.join(', ')}; ${Object.keys(NO_HOOKS).join(' and ')} needs none)`);
  }
  if ((PLUGIN_AGENTS as readonly string[]).includes(agent)) return agent as PluginAgent;
  if (!(HOOK_AGENTS as readonly string[]).includes(agent)) throw new UsageError(`hooks: ${NO_HOOKS[agent as keyof typeof NO_HOOKS]}`);
  return agent as HookAgent;
}

export async function hooksInstall(name: string, options: HooksOptions): Promise<number> {
  await installAgentHooks(hookAgent(name), options, process.stdout);
  return 0;
}

export async function hooksUninstall(name: string, options: HooksOptions): Promise<number> {
  removeAgentHooks(hookAgent(name), options, process.stdout);
  return 0;
}

export async function hooksStatus(options: HooksOptions): Promise<number> {
  process.stdout.write(`${(await hooksStatusLines(options.settings)).join('\n')}\n`);
  return 0;
}
