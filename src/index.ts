// The public API: re-exports only.
export type {
  AttributedProcess,
  Evidence,
  KeepReason,
  LineageRecord,
  ProcessIdentity,
  ProcessInfo,
  ProcessSnapshot,
  ResourceTrackerConfig,
  TaskOwner,
} from './types.js';
export { DEFAULT_CONFIG } from './types.js';
export { ResourceTracker, describeProcess, type ResourceTrackerOptions } from './tracker.js';
export { detectOrphans, type DetectOrphansOptions } from './rules/orphans.js';
export { memoryGrowth, exceedsThreshold, totalMemoryMB } from './rules/memory.js';
export { isMCPProcess, isAgentHelper, looksLikeSubreaper, compileKeepPatterns } from './rules/patterns.js';
export { attribute, type Attribution, type AttributionInput } from './rules/attribution.js';
export { identityKey } from './rules/identity.js';
export { takeSnapshot, type SnapshotOptions } from './snapshot.js';
export { loadConfig, parseConfig } from './config.js';
export { escapeUnprintable } from './text.js';
export { createLogger, silentLogger, type Logger, type LogFields, type LogFormat, type LogLevel, type LoggerOptions } from './log.js';
export { ConfigError, SnapshotError, CommandNotFoundError, CommandNotExecutableError } from './errors.js';
export { TASK_ENV_VAR, KEEP_ENV_VAR, parseTaskTag } from './task/tag.js';
export { platformReader } from './platform/index.js';
export type { PlatformReader, RawProcess, ProcessStatus, EnvMarkers, PidNamespaceInfo } from './platform/types.js';
export { runTracked, type RunTrackedOptions, type TaskReport, type SnapshotSummary } from './task/run.js';
export { forwardSignals, deliveredByTerminal, type ForwardSignalsOptions, type ForwardedSignal, type SignalForwarder } from './task/signals.js';
export { formatTaskTag, createTaskTag } from './task/tag.js';
export { reapOrphans, reapOrder, type ReapOptions, type ReapOutcome, type ReapResultKind } from './reap.js';
export { scanMachine, type ScanOptions, type ScanReport } from './scan.js';
export { analyzeMachine, type LeakGroup, type MachineScan, type ScanRuleOptions } from './rules/scan.js';
export { createWatchMetrics, runMetricsText, writeFileAtomic, type WatchMetrics } from './metrics.js';
export { startWatchServer, type WatchServer, type WatchServerOptions } from './watch.js';
