import { describe, expect, it } from 'vitest';
import { compileGlob, globMatches } from '../../../src/policy/glob.ts';

describe('policy globs', () => {
  it.each([
    ['sb-*', 'sb-123', true],
    ['sb-*', 'sb-', true],
    ['sb-*', 'xsb-1', false],
    ['*-prod', 'team-prod', true],
    ['*-prod', 'team-prod2', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*', '', true],
    ['a.b', 'axb', false],
    ['[a]', '[a]', true],
    ['**', 'anything', true],
  ])('%s ~ %s → %s', (pattern, text, expected) => {
    expect(compileGlob(pattern)(text)).toBe(expected);
    expect(globMatches(pattern, text)).toBe(expected);
  });

  it('stays fast on adversarial input (no backtracking blow-up)', () => {
    const pattern = `${'*a'.repeat(20)}b`;
    const text = 'a'.repeat(5000);
    const started = performance.now();
    expect(globMatches(pattern, text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
