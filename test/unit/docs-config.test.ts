// The YAML the documentation shows is what rtrack and Prometheus take (issue 35): every ```yaml block
// of README.md and docs/*.md that configures rtrack parses as a config file given with --config
// does (unknown keys and settings that would be read from nowhere are errors), and every alert it
// shows is one of examples/prometheus/alerts.yml, with the same expression and `for:`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/config.js';
import { CHECKOUT, documentationFiles, fences } from '../helpers/markdown.js';

const yamlBlocks = (): { where: string; text: string }[] =>
  documentationFiles().flatMap((file) => fences(file).filter((f) => f.lang === 'yaml' || f.lang === 'yml').map((f) => ({ where: `${file}:${f.line}`, text: f.content })));

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
}

describe('the YAML the documentation shows', () => {
  it("every rtrack config block is a config rtrack takes", () => {
    const configs = yamlBlocks().filter((b) => /^diagnostics:/m.test(b.text));
    expect(configs.length).toBeGreaterThanOrEqual(3);
    const problems = configs.flatMap((b) => {
      try {
        parseConfigFile(b.text, b.where);
        return [];
      } catch (err) {
        return [`${b.where}: ${(err as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
    expect(() => parseConfigFile('diagnostics:\n  resource_tracking:\n    sesions: {}\n', 'typo')).toThrow(/sesions/);
  });

  it('every alert it shows is in examples/prometheus/alerts.yml, as written there', () => {
    const file = parse(readFileSync(join(CHECKOUT, 'examples', 'prometheus', 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] };
    const rules = new Map(file.groups.flatMap((g) => g.rules).filter((r) => r.alert).map((r) => [r.alert!, r]));
    const shown = yamlBlocks().flatMap((b) => {
      const doc: unknown = parse(b.text);
      return Array.isArray(doc) ? (doc as Rule[]).filter((r) => r.alert).map((r) => ({ where: b.where, rule: r })) : [];
    });
    expect(shown.length).toBeGreaterThanOrEqual(5);
    for (const { where, rule } of shown) {
      const real = rules.get(rule.alert!);
      expect(real, `${where}: no alert ${rule.alert} in alerts.yml`).toBeDefined();
      expect(rule.expr?.trim(), `${where}: ${rule.alert}'s expr`).toBe(real!.expr?.trim());
      expect(rule.for, `${where}: ${rule.alert}'s for`).toBe(real!.for);
    }
    // The documentation shows every alert there is.
    expect(shown.map((s) => s.rule.alert).sort()).toEqual([...rules.keys()].sort());
  });
});
