// The Grafana dashboard and the recording rules against a real Prometheus scraping a real
// rtrack watch: every panel query, and the dashboard's machine variable, return data.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RTRACK } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/debian-tools.js';
import { freePort } from '../helpers/ports.js';
import { ProcessJar, waitFor } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

const jar = new ProcessJar();
afterEach(() => jar.cleanup());
const examples = (p: string): string => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));

interface Panel {
  title: string;
  targets: { expr: string }[];
}

/** A panel's query as Grafana sends it with every machine selected. */
const asGrafanaSends = (expr: string): string => expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');

async function query(port: number, expr: string): Promise<{ status: string; result: unknown[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { result?: unknown[] }; error?: string };
  return { status: body.status === 'success' ? 'success' : `${body.status}: ${body.error}`, result: body.data?.result ?? [] };
}

describe('the Grafana dashboard against a real Prometheus scraping a real watch', () => {
  it('every panel query returns data; so do the machine variable and the recording rules', async () => {
    if (!requireOrSkip('prometheus', 'prometheus')) return;
    const home = tempDir('fleet-prometheus');
    const child = jar.spawn(process.execPath, [RTRACK, 'watch', '--port', '0', '--interval', '200ms', '--reap', '--linger', '1m'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOME: home, XDG_STATE_HOME: join(home, 'state') },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await waitFor(() => /listening url=(\S+)/.test(stderr), 15_000)).toBe(true);
    const target = /listening url=http:\/\/(\S+)\/metrics/.exec(stderr)![1]!;

    copyFileSync(examples('prometheus/recording.yml'), join(home, 'recording.yml'));
    copyFileSync(examples('prometheus/alerts.yml'), join(home, 'alerts.yml'));
    writeFileSync(
      join(home, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [recording.yml, alerts.yml]\nscrape_configs:\n  - job_name: rtrack\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    jar.spawn('prometheus', [`--config.file=${join(home, 'prometheus.yml')}`, `--storage.tsdb.path=${join(home, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });

    const dashboard = JSON.parse(readFileSync(examples('grafana/rtrack-dashboard.json'), 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query?: { query: string } | string }[] } };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: asGrafanaSends(t.expr) })));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const recorded = ['instance:rtrack_processes:sum', 'instance:rtrack_leaked_processes:sum', 'instance:rtrack_leaked_pss_bytes:sum', 'instance:rtrack_leaked_cpu_ratio:sum', 'instance:rtrack_reaped_processes:rate5m'];
    const empty = async (): Promise<string[]> => {
      const missing: string[] = [];
      for (const { panel, expr } of [...exprs, ...recorded.map((expr) => ({ panel: 'recording rule', expr }))]) {
        try {
          const r = await query(port, expr);
          if (r.status !== 'success' || r.result.length === 0) missing.push(`${panel}: ${expr} (${r.status}, ${r.result.length} series)`);
        } catch (err) {
          missing.push(`${panel}: ${expr} (${(err as Error).message})`);
        }
      }
      return missing;
    };
    let missing: string[] = [];
    // Rates need two scrapes, the recording rules an evaluation after them.
    expect(await waitFor(async () => (missing = await empty()).length === 0, 45_000, 1000), missing.join('\n')).toBe(true);

    const variable = dashboard.templating.list.find((v) => v.name === 'instance')!;
    const labelQuery = typeof variable.query === 'string' ? variable.query : variable.query!.query;
    const m = /^label_values\((\w+), (\w+)\)$/.exec(labelQuery)!;
    const values = (await (await fetch(`http://127.0.0.1:${port}/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(m[1]!)}`)).json()) as { data: string[] };
    expect(values.data).toEqual([target]);
    child.kill('SIGTERM');
  });
});
