// The Prometheus text format, read back: samples of a scrape, and sums over their labels.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of a scrape (comments and blank lines skipped). */
export function samples(text: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    found.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return found;
}

/** The sum of a metric's samples whose labels include `match`; undefined when there is none. */
export function total(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  const picked = samples(text).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return picked.length === 0 ? undefined : picked.reduce((sum, s) => sum + s.value, 0);
}

/** The metric families a scrape declares (`# TYPE name kind`). */
export function families(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}
