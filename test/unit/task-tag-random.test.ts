import { describe, expect, it } from 'vitest';
import { createTaskTag, newTagRandom, parseTaskTag } from '../../src/tracking/task-tag.js';

describe('a tag\'s random part', () => {
  it('is 12 hex digits, different each time, and parses back', () => {
    const parts = Array.from({ length: 200 }, () => newTagRandom());
    for (const part of parts) expect(part).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(parts).size).toBe(parts.length);
    // not stuck on one value in any position (48 random bits, 200 draws)
    for (let i = 0; i < 12; i++) expect(new Set(parts.map((p) => p[i])).size).toBeGreaterThan(4);
    const tag = createTaskTag({ pid: 42, startTime: 7 });
    expect(parseTaskTag(tag)).toEqual({ pid: 42, startTime: 7 });
  });
});
