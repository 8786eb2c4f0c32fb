/**
 * `*` globs for policy rules: `*` matches any run of characters (including none); every other character
 * matches itself. No regular expressions, so no escaping bugs and no catastrophic backtracking: the
 * classic two-pointer algorithm runs in O(pattern × text) worst case, O(text) typically.
 */
export type Glob = (text: string) => boolean;

export function compileGlob(pattern: string): Glob {
  if (!pattern.includes('*')) return (text) => text === pattern;
  if (pattern === '*') return () => true;
  return (text) => globMatches(pattern, text);
}

export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1; // position of the last `*` seen in the pattern
  let retryFrom = 0; // where in the text that `*` would resume absorbing
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      starAt = p++;
      retryFrom = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (starAt !== -1) {
      p = starAt + 1;
      t = ++retryFrom;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
