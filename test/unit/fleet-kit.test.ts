// The fleet kit (#36), checked as far as a machine without Docker, Kubernetes or a systemd manager
// allows: the Dockerfile's instructions (dockerfile-utils' validator, then what it must do), the
// Kubernetes manifests against the API's schema (kubernetes-models) and what a watch needs of them,
// the systemd units' hardening (systemd-analyze security --offline where it exists), every alert
// with a promtool test that fires it and one that does not, and the metric table (docs/fleet.md) against
// what the watch serves.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createWatchMetrics } from '../../src/metrics.js';
import { hasCommand } from '../helpers/debian-tools.js';
import { families } from '../helpers/exposition.js';
import { promtool } from '../helpers/promtool.js';

const path = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const text = (p: string): string => readFileSync(path(p), 'utf8');

describe('the Dockerfile (examples/container)', () => {
  const dockerfile = text('examples/container/Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.trim().split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
  const of = (keyword: string): string[] => instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('passes dockerfile-utils\' validator without a diagnostic', () => {
    expect(validateDockerfile(dockerfile)).toEqual([]);
  });

  it('a node slim base, the packed tarball installed globally, non-root by default, rtrack as the entry point, a health check on /healthz', () => {
    expect(of('FROM')).toHaveLength(1);
    expect(of('FROM')[0]).toMatch(/^node:\$\{NODE_VERSION\}-\S*slim$/);
    expect(of('ARG')).toContain('NODE_VERSION=20');
    expect(of('COPY')).toEqual(['rtrack-*.tgz /tmp/']);
    expect(of('ADD')).toEqual([]); // nothing fetched from elsewhere
    expect(of('RUN').join(' ')).toMatch(/npm install --global --omit=dev \/tmp\/rtrack-\*\.tgz/);
    const users = of('USER');
    expect(users.at(-1)).toBe('node'); // the last USER is who runs it: not root
    expect(JSON.parse(of('ENTRYPOINT')[0]!)).toEqual(['rtrack']);
    expect(JSON.parse(of('CMD')[0]!)[0]).toBe('watch');
    expect(of('HEALTHCHECK')[0]).toContain('/healthz');
    expect(of('EXPOSE')).toEqual(['9464']);
  });

  it('documents the capabilities a system-wide watch takes, and that it needs the host\'s PID namespace', () => {
    for (const cap of ['SYS_PTRACE', 'KILL', 'DAC_READ_SEARCH']) expect(dockerfile).toContain(`--cap-add ${cap}`);
    expect(dockerfile).toContain('--cap-drop ALL');
    expect(dockerfile).toContain('--pid=host');
  });

  it('the tarball it copies is the one `npm pack` makes', () => {
    const pkg = JSON.parse(text('package.json')) as { name: string; version: string };
    expect(`${pkg.name}-${pkg.version}.tgz`).toMatch(/^rtrack-.*\.tgz$/);
  });
});

describe('the Kubernetes manifests (examples/kubernetes)', () => {
  const [daemonSet] = parseAllDocuments(text('examples/kubernetes/daemonset.yaml')).map((d) => d.toJS() as Record<string, any>);
  const monitor = parseAllDocuments(text('examples/kubernetes/servicemonitor.yaml')).map((d) => d.toJS() as Record<string, any>);

  it('are valid against the Kubernetes API schema', () => {
    expect(() => new DaemonSet(daemonSet).validate()).not.toThrow();
    expect(() => new Service(monitor[0]).validate()).not.toThrow();
    expect(monitor[1]).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' });
    // The schema check catches what it should: a wrong type.
    expect(() => new DaemonSet({ ...daemonSet, spec: { ...daemonSet!.spec, template: { ...daemonSet!.spec.template, spec: { ...daemonSet!.spec.template.spec, hostPID: 'yes' } } } }).validate()).toThrow(/hostPID must be boolean/);
  });

  it('the DaemonSet: hostPID, a read-only root filesystem, three capabilities and no others, resources, scrape annotations, probes on /healthz', () => {
    const pod = daemonSet!.spec.template;
    expect(pod.spec.hostPID).toBe(true);
    const [container] = pod.spec.containers;
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'], add: ['SYS_PTRACE', 'KILL', 'DAC_READ_SEARCH'] } });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
    expect(container.args).toEqual(expect.arrayContaining(['watch', '--scope=system', '--host-root=/host', '--port=9464']));
    expect(container.ports[0].containerPort).toBe(9464);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string; readOnly?: boolean }) => [m.mountPath, m]));
    expect(mounts['/host']).toMatchObject({ readOnly: true });
    expect(mounts['/var/lib/rtrack']).toBeDefined(); // the journal of what it reaped: the only place it writes
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'XDG_STATE_HOME', value: '/var/lib' }]));
  });
});

describe('the systemd units (examples/systemd)', () => {
  const directives = (unit: string): Map<string, string[]> => {
    const found = new Map<string, string[]>();
    for (const line of text(`examples/systemd/${unit}`).split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!]);
    }
    return found;
  };

  it('the system-wide unit is hardened: what reading /proc and reaping allow, nothing more', () => {
    const d = directives('rtrack-watch.service');
    const one = (key: string): string | undefined => d.get(key)?.at(-1);
    expect(one('ExecStart')).toMatch(/^\/\S+\/rtrack watch --scope system /);
    expect(one('CapabilityBoundingSet')!.split(/\s+/).sort()).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_KILL', 'CAP_SYS_PTRACE']);
    for (const [key, value] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'read-only',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      RestrictNamespaces: 'yes',
      RestrictSUIDSGID: 'yes',
      LockPersonality: 'yes',
      StateDirectory: 'rtrack',
      UMask: '0077',
    })) expect(one(key), key).toBe(value);
    expect(one('RestrictAddressFamilies')!.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(d.get('SystemCallFilter')).toContain('@system-service');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID'); // SIGHUP reloads the config
    // Never set: it must see every process (ProtectProc, ProcSubset) and run V8 (MemoryDenyWriteExecute).
    for (const key of ['ProtectProc', 'ProcSubset', 'MemoryDenyWriteExecute', 'PrivateUsers', 'DynamicUser']) expect(d.has(key), key).toBe(false);
  });

  it.skipIf(!hasCommand('systemd-analyze'))('systemd-analyze security --offline scores the system-wide unit 3.0 or better (it was 9.6 UNSAFE)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', path('examples/systemd/rtrack-watch.service')], { encoding: 'utf8' });
    const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout)?.[1];
    expect(score, r.stdout + r.stderr).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(3.0);
    expect(text('examples/systemd/rtrack-watch.service')).toContain(`scores it ${score} (`);
  });

  it('the per-user unit listens on the user\'s own port (no --port: 20000 + uid) and serves the user\'s figures only', () => {
    const d = directives('rtrack-watch-user.service');
    const exec = d.get('ExecStart')!.at(-1)!;
    expect(exec).toMatch(/^\/\S+\/rtrack watch --scope user /);
    expect(exec).not.toContain('--port');
    expect(d.get('NoNewPrivileges')?.at(-1)).toBe('yes');
  });
});

describe('the alerting rules (examples/prometheus)', () => {
  const rules = (parse(text('examples/prometheus/alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
  const tests = (parse(text('examples/prometheus/alerts.test.yml')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []);

  it('every rule has a promtool case where it fires and one where it does not', () => {
    for (const rule of rules) {
      const cases = tests.filter((t) => t.alertname === rule.alert);
      expect(cases.some((t) => t.exp_alerts.length > 0), `${rule.alert} fires`).toBe(true);
      expect(cases.some((t) => t.exp_alerts.length === 0), `${rule.alert} does not fire`).toBe(true);
    }
  });

  it('silence is an alert: a watch down, absent, stalled or blind', () => {
    const exprs = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
    expect(exprs.RtrackWatchDown).toBe('up{job="rtrack"} == 0');
    expect(exprs.RtrackWatchAbsent).toBe('absent(up{job="rtrack"})');
    expect(exprs.RtrackScanStale).toContain('rtrack_last_scan_timestamp_seconds');
    expect(exprs.RtrackWatchBlind).toBe('rtrack_pid_namespace_host == 0');
    expect(exprs.TaskLeftProcesses).toMatch(/rtrack_run_timestamp_seconds/); // a run's old file is ignored
  });

  it.skipIf(!hasCommand('promtool'))('promtool: the rules, their tests, and the scrape, federation and remote-write configs', () => {
    const dir = path('examples/prometheus');
    for (const args of [['check', 'rules', 'alerts.yml', 'recording.yml'], ['test', 'rules', 'alerts.test.yml'], ['check', 'config', 'prometheus.yml'], ['check', 'config', 'federation.yml'], ['check', 'config', 'remote-write.yml']]) {
      const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
      expect(r.status, `promtool ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});

describe('the metric table of docs/fleet.md', () => {
  it('names exactly the metrics the watch serves, with their labels, and promtool accepts them', async () => {
    const metrics = createWatchMetrics({ defaultMetrics: false, intervalMs: 15_000, version: '0.0.0' });
    const none = { processes: 0, residentBytes: 0, groups: 0, oldestAgeSeconds: 0, pssBytes: 0, cpuCores: 0, spinning: 0 };
    metrics.update({
      timestamp: new Date(), warnings: [], processCount: 1, totalMemoryMB: 1, totalMemoryBytes: 1048576, mcpProcessCount: 0, mcpMemoryMB: 0, mcpMemoryBytes: 0, certain: [], suspected: [], kept: [], leftoverCgroups: [],
      hostPidNamespace: true,
      users: new Map([['alice', { processes: 1, residentBytes: 1, mcpProcesses: 0, mcpResidentBytes: 0, kept: 0, keptResidentBytes: 0, certain: none, suspected: none }]]),
    });
    metrics.startScanTimer()();
    const scrape = await metrics.registry.metrics();
    const served = families(scrape);
    const fleet = text('docs/fleet.md');
    const start = fleet.indexOf('\n## Metrics\n');
    expect(start).toBeGreaterThan(0);
    const section = fleet.slice(start, fleet.indexOf('\n## ', start + 5));
    const documented = new Map<string, string[]>();
    for (const row of section.split('\n').filter((l) => /^\| `rtrack_/.test(l))) {
      const cell = row.split(' | ')[0]!;
      for (const m of cell.matchAll(/`(rtrack_[a-z_]+)(?:\{([^}]*)\})?`/g)) documented.set(m[1]!, (m[2] ?? '').split(',').map((l) => l.replace(/=.*/, '').trim()).filter(Boolean));
    }
    expect([...documented.keys()].sort()).toEqual([...served.keys()].sort());
    // Each row's labels are the ones the code gives.
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      const labels = new Set<string>();
      for (const v of metric.values) for (const l of Object.keys(v.labels)) if (l !== 'le') labels.add(l);
      expect(documented.get(metric.name)!.sort(), metric.name).toEqual([...labels].sort());
    }
    if (hasCommand('promtool')) {
      const check = promtool(['check', 'metrics'], scrape);
      expect(check.output).toBe('');
      expect(check.status).toBe(0);
    }
  });
});
