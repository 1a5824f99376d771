// Internals this repository's tests and benchmarks reach from the built files (bench/, the
// child processes of test/system): built as a file of its own (dist/internal.js), not in
// package.json's exports and not part of the API. It has its own copy of the code: what it hands to
// the library is plain data and readers, never an instance of a class the library checks.
export { FOLLOWER_NODE_FLAGS } from './cli/session-command.js';
export { WATCH_V8_FLAGS } from './cli/watch-command.js';
export { acquireFollowerLock, registerSession } from './operations/agent-sessions.js';
export { readRecords } from './tracking/session-records.js';
export { hookCommand } from './hooks/hook-commands.js';
export { measureCosts } from './tracking/leak-cost.js';
export { platformReader } from './platform/index.js';
export { createLinuxReader } from './platform/linux.js';
export { lookAtTable, withPipelines } from './operations/table-look.js';
export { createWatchScanner } from './operations/watch-scan.js';
