// The public API of `rtrack`: what a library user needs, each documented in the README and in the
// API reference (`npm run docs`). Prometheus metrics are a separate entry point, `rtrack/metrics`
// (prom-client is loaded only by what uses it); the per-OS parsers are `rtrack/parsers`.
export type { AgentConfig, AgentMarker, CgroupMode, LeakCost, SessionsConfig, AttributedProcess, Evidence, KeepReason, LineageRecord, ProcessIdentity, ProcessInfo, ProcessSnapshot, ProcessUser, ResourceTrackerConfig, TaskOwner } from './types.js';
export { DEFAULT_CONFIG, KEEP_ENV_VAR, TASK_ENV_VAR } from './types.js';

// The seed's lifecycle and its rules
export { ResourceTracker, type AnalyzeOptions, type FollowTaskOptions, type ResourceTrackerOptions, type RunningLeak } from './tracking/tracker.js';
export type { TaskAccount } from './tracking/task-account.js';
export { takeSnapshot, type SnapshotOptions } from './tracking/snapshot.js';
export { detectOrphans, type DetectOrphansOptions } from './rules/attribution.js';
export { identityKey } from './rules/identity.js';
export { memoryGrowth } from './rules/memory.js';
export { isMCPProcess } from './rules/patterns.js';
export { attribute, type Attribution, type AttributionInput } from './rules/attribution.js';
export { parseTaskTag } from './tracking/task-tag.js';

// Running, reaping, scanning
export { runTracked, type LeakCostTotals, type RunTrackedOptions, type SnapshotSummary, type StartFailure, type TaskOutcome, type TaskReport, type TaskReportBase } from './operations/run-tracked.js';
export { reapOrphans, type ReapOptions, type ReapOutcome, type ReapResultKind } from './operations/reap.js';
export type { SignalRecord, SignalRequester } from './operations/signal-record.js';
export { scanMachine, type LeakTotals, type ScanOptions, type ScanReport } from './operations/scan-machine.js';
export type { UserState } from './files.js';
export type { ListeningEndpoint, PortHolder } from './rules/port-holders.js';
export { leakCostTotals, measureCosts, type CostCache, type MeasureCostsOptions } from './tracking/leak-cost.js';
export type { NotReaped } from './rules/not-reaped.js';
export type { AgentSessionRef, LeakGroup, MachineScan } from './rules/machine-leaks.js';
export { BUILT_IN_AGENTS, type AgentDefinition } from './rules/agents.js';

// Configuration, logging, errors, output
export { loadConfig, parseConfig } from './config.js';
export { createLogger, silentLogger, type LogFields, type LogFormat, type Logger, type LoggerOptions, type LogLevel } from './log.js';
export { ConfigError, SnapshotError, TrackerStateError } from './errors.js';
export { escapeUnprintable } from './text.js';

// For a reader of your own (tests, another source of process tables)
export { ProcessUnreadableError } from './platform/types.js';
export type { EnvMarkers, EnvironmentProblem, PidNamespaceInfo, PlatformReader, ProcessStatus, ProcessTable, RawProcess, ReadTableOptions, StatusMap } from './platform/types.js';
export type { PipeEnd, SocketPeers } from './rules/keep.js';
