// The examples fit together and say what a person needs to use them: the systemd unit listens
// where examples/prometheus/prometheus.yml scrapes, names rtrack by an absolute path and says how to
// find it, and says how a user unit runs without a login. (promtool checks the Prometheus files
// themselves in test/system/watch.test.ts.)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const example = (path: string): string => readFileSync(fileURLToPath(new URL(`../../examples/${path}`, import.meta.url)), 'utf8');
const unit = example('systemd/rtrack-watch.service');
const userUnit = example('systemd/rtrack-watch-user.service');
const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!;

describe('examples', () => {
  it('the unit listens where Prometheus scrapes: targets by host name need a --host other than loopback', () => {
    const config = parse(example('prometheus/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    const targets = config.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const remote = targets.filter((t) => !/^(localhost|127\.|\[::1\])/.test(t));
    expect(remote.length).toBeGreaterThan(0);
    const host = /--host (\S+)/.exec(execStart)?.[1] ?? '127.0.0.1';
    expect(host).not.toMatch(/^(127\.|localhost$|::1$)/);
    const port = /--port (\d+)/.exec(execStart)?.[1];
    for (const t of remote) expect(t.endsWith(`:${port}`)).toBe(true);
  });

  it('the units name rtrack by an absolute path and say how to find it; the user unit says how to run without a login', () => {
    for (const text of [unit, userUnit]) {
      expect(/^ExecStart=(.*)$/m.exec(text)![1]).toMatch(/^\/\S+\/rtrack watch /);
      expect(text).toContain('command -v rtrack');
      expect(text).toContain('npm prefix -g');
    }
    expect(userUnit).toContain('loginctl enable-linger');
  });

  it('the leak-memory alert counts what ending the leaks gives back (PSS), the figure the CLI leads with', () => {
    const rules = parse(example('prometheus/alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const alert = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === 'LeakedMemoryHigh')!;
    expect(alert.expr).toContain('rtrack_leaked_pss_bytes');
    expect(alert.expr).not.toContain('resident');
  });
});
