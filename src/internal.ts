// Internals this repository's tests and benchmarks reach from the built files (bench/, the
// child processes of test/system): an entry point of the bundle, so that they share its classes and
// state, but not in package.json's exports and not part of the API.
export { FOLLOWER_NODE_FLAGS } from './cli/session-command.js';
export { WATCH_V8_FLAGS } from './cli/watch-command.js';
export { registerSession } from './operations/agent-sessions.js';
export { measureCosts } from './operations/leak-cost.js';
export { platformReader } from './platform/index.js';
export { createLinuxReader } from './platform/linux.js';
