// The demo's built-in task: behaves like a leaky agent session. It starts an MCP-server-like process
// that starts a browser-like child (each holding a little memory), then exits without cleaning up —
// exactly what an agent CLI does when only its direct child is killed.
//   node leaky-task.js            the "agent session" (exits at once, leaving the two behind)
//   node leaky-task.js mcp        the "MCP server"
//   node leaky-task.js browser    the "browser"
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
// process.title reuses the argv memory on Linux: room for the title is made with a padding argument.
const TITLE_ROOM = 'x'.repeat(64);
const LIFETIME_MS = 10 * 60_000; // never outlive a forgotten demo by more than this

function holdMemory(mb: number): Buffer {
  return Buffer.alloc(mb * 1024 * 1024, 1);
}

function startChild(role: 'mcp' | 'browser'): Promise<void> {
  const child = spawn(process.execPath, [self, role, TITLE_ROOM], { stdio: ['ignore', 'pipe', 'ignore'], detached: role === 'mcp' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => {
      child.stdout!.destroy();
      child.unref();
      resolve();
    });
  });
}

const role = process.argv[2] ?? 'task';
if (role === 'task') {
  await startChild('mcp');
  process.stdout.write('demo task: started an MCP server and a browser, exiting without cleaning up\n');
} else {
  process.title = role === 'mcp' ? 'mcp-server-playwright --stdio' : 'chromium --headless --remote-debugging-port=0';
  const memory = holdMemory(role === 'mcp' ? 8 : 24);
  if (role === 'mcp') await startChild('browser');
  process.stdout.write('ready\n');
  setTimeout(() => memory.length, LIFETIME_MS);
}
