import { describe, expect, it } from 'vitest';
import { isAgentHelper, isMCPProcess, looksLikeSubreaper, sharedDaemonOf } from '../../src/rules/patterns.js';
import { displayCommand } from '../../src/rules/display-command.js';

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

describe('shared per-user daemons (kept by default)', () => {
  it.each([
    ['ssh: /home/u/.ssh/cm-u@host:22 [mux]', 'ssh ControlMaster'],
    ['/usr/bin/ssh-agent -s', 'ssh-agent'],
    ['gpg-agent --homedir /home/u/.gnupg --use-standard-socket --daemon', 'gpg-agent'],
    ['/usr/bin/keyboxd --homedir /home/u/.gnupg', 'keyboxd'],
    ['/usr/bin/dbus-daemon --session --address=systemd: --nofork', 'dbus-daemon'],
    ['/usr/bin/conmon --api-version 1 -c 4f2a', 'podman conmon'],
    ['/usr/lib/jvm/java-17/bin/java -Xmx512m -cp /home/u/.gradle/wrapper/dists/gradle-8.5/lib/gradle-launcher-8.5.jar org.gradle.launcher.daemon.bootstrap.GradleDaemon 8.5', 'Gradle daemon'],
    ['/usr/bin/java -cp kotlin-daemon.jar org.jetbrains.kotlin.daemon.KotlinCompileDaemon --daemon-runFilesPath /tmp', 'Kotlin daemon'],
    ['bazel(myproject) -XX:+HeapDumpOnOutOfMemoryError -jar /home/u/.cache/bazel/install/A-server.jar', 'Bazel server'],
  ])('%s is the %s', (command, name) => {
    expect(sharedDaemonOf(command)).toBe(name);
  });

  it.each([
    'ssh -o ControlMaster=auto host make test', // a client in the task's foreground, not a persisted master
    'node ssh-agent-proxy.js',
    'vim gpg-agent.conf',
    'sleep 300',
    'java -jar app.jar gradle',
  ])('%s is not', (command) => {
    expect(sharedDaemonOf(command)).toBeUndefined();
  });
});
