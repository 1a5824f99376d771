// The seed's YAML layout (diagnostics.resource_tracking.*) → ResourceTrackerConfig, validated by zod.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { compileKeepPatterns } from './rules/patterns.js';
import { DEFAULT_CONFIG, type ResourceTrackerConfig } from './types.js';

const resourceTrackingSchema = z
  .object({
    enabled: z.boolean(),
    memory_threshold_mb: z.number().finite().nonnegative(),
    log_orphaned_mcp_only: z.boolean(),
    keep: z.array(z.string()),
    lineage_interval_ms: z.number().int().min(10).max(60_000),
    keep_shared_daemons: z.boolean(),
  })
  .partial()
  .strict();

const fileSchema = z
  .object({
    diagnostics: z
      .object({ resource_tracking: resourceTrackingSchema.nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough()
  .nullish();

/** Parses a config file's text; `source` names the file in errors. */
export function parseConfig(text: string, source: string): ResourceTrackerConfig {
  // Warnings (an unknown tag, say) are errors too: a config must mean exactly what it says.
  const document = parseDocument(text);
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new ConfigError(`${source}: invalid YAML: ${problem.message.split('\n')[0]}`);
  let data: unknown;
  try {
    data = document.toJS();
  } catch (err) {
    throw new ConfigError(`${source}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = fileSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const detail =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `${key}.${k}`).join(', ')}`
        : `${key}: ${issue.message}`;
    throw new ConfigError(`${source}: ${detail}`);
  }
  const rt = result.data?.diagnostics?.resource_tracking ?? {};
  const config: ResourceTrackerConfig = {
    enabled: rt.enabled ?? DEFAULT_CONFIG.enabled,
    memoryThresholdMB: rt.memory_threshold_mb ?? DEFAULT_CONFIG.memoryThresholdMB,
    logOrphanedMCPOnly: rt.log_orphaned_mcp_only ?? DEFAULT_CONFIG.logOrphanedMCPOnly,
    keep: rt.keep ?? [...DEFAULT_CONFIG.keep],
    lineageIntervalMs: rt.lineage_interval_ms ?? DEFAULT_CONFIG.lineageIntervalMs,
    keepSharedDaemons: rt.keep_shared_daemons ?? DEFAULT_CONFIG.keepSharedDaemons,
  };
  try {
    compileKeepPatterns(config.keep, `${source}: diagnostics.resource_tracking.keep`);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return config;
}

/** Reads the YAML config; without a path, the defaults. A missing explicit file is an error. */
export async function loadConfig(path?: string): Promise<ResourceTrackerConfig> {
  if (path === undefined) return { ...DEFAULT_CONFIG, keep: [...DEFAULT_CONFIG.keep] };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError(`${path}: cannot read config: ${why}`);
  }
  return parseConfig(text, path);
}
