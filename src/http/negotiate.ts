/**
 * Picks the response format from the Accept header. `text/plain` wins only when the client prefers it to
 * JSON, so `curl -H 'Accept: text/plain'` gets the bare value and everything else gets JSON.
 */
export type ResponseFormat = 'json' | 'text';

export function negotiateFormat(accept: string | null | undefined): ResponseFormat {
  if (!accept) return 'json';
  let text = -1;
  let json = -1;
  for (const range of accept.slice(0, 1024).split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam ? Number.parseFloat(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'text/plain') text = Math.max(text, q);
    if (type === 'application/json') json = Math.max(json, q);
  }
  return text > 0 && text > json ? 'text' : 'json';
}
