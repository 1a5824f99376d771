import { describe, expect, it } from 'vitest';
import { isAgentHelper, isMCPProcess, looksLikeSubreaper } from '../../src/rules/patterns.js';
import { displayCommand } from '../../src/rules/command.js';

describe('isMCPProcess (the seed pattern)', () => {
  it.each([
    ['/usr/lib/chromium/chromium --headless', true],
    ['Google Chrome Helper', true],
    ['node /x/@playwright/mcp/cli.js', true],
    ['FIREFOX', true],
    ['WebKitWebProcess', true],
    ['puppeteer', true],
    ['java -jar selenium-server.jar', true],
    ['bash', false],
    ['node server.js', false],
  ])('%s → %s', (command, expected) => {
    expect(isMCPProcess(command)).toBe(expected);
  });
});

describe('isAgentHelper', () => {
  it.each([
    ['npm exec @modelcontextprotocol/server-filesystem', true],
    ['npx -y @playwright/mcp', true],
    ['node /home/u/.npm/_npx/x/mcp-server.js', true],
    ['/usr/bin/node index.js', true],
    ['claude --resume', true],
    ['mcp-server-github', true],
    ['python3 -m http.server', false],
    ['postgres: writer', false],
  ])('%s → %s', (command, expected) => {
    expect(isAgentHelper(command)).toBe(expected);
  });
});

describe('looksLikeSubreaper', () => {
  it.each([
    ['/lib/systemd/systemd --user', true],
    ['/sbin/init', true],
    ['tini -s -- node', true],
    ['/usr/bin/containerd-shim-runc-v2 -namespace moby', true],
    ['/usr/sbin/sshd -D', false],
    ['bash', false],
  ])('%s → %s', (command, expected) => {
    expect(looksLikeSubreaper(command)).toBe(expected);
  });
});

describe('displayCommand', () => {
  it('keeps short commands and falls back to the name', () => {
    expect(displayCommand('sleep 10', 'sleep')).toBe('sleep 10');
    expect(displayCommand('', 'kthreadd')).toBe('kthreadd');
  });
  it('truncates to 100 characters plus ...', () => {
    const long = 'x'.repeat(150);
    expect(displayCommand(long, 'x')).toBe(`${'x'.repeat(100)}...`);
    expect(displayCommand('y'.repeat(100), 'y')).toBe('y'.repeat(100));
  });
  it('never splits a character outside the BMP', () => {
    const text = '😀'.repeat(120);
    const shown = displayCommand(text, 'e');
    expect(shown).toBe(`${'😀'.repeat(100)}...`);
    expect(shown.isWellFormed()).toBe(true);
  });
});
