import { describe, expect, it } from 'vitest';
import { negotiateFormat } from '../../../src/http/negotiate.ts';

describe('Accept negotiation', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['text/plain', 'text'],
    ['TEXT/PLAIN', 'text'],
    ['application/json', 'json'],
    ['text/plain, application/json', 'json'],
    ['text/plain;q=0.9, application/json;q=0.5', 'text'],
    ['text/plain;q=0', 'json'],
    ['text/plain;q=abc', 'json'],
  ])('%s → %s', (accept, expected) => {
    expect(negotiateFormat(accept)).toBe(expected);
  });
});
