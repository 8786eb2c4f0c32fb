/** How the CLI talks to a broker's admin routes: base URL and admin token from flags or environment. */
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.ts';

export interface AdminTarget {
  url: string;
  token: string;
}

export function adminTarget(values: { url?: string | undefined; 'token-file'?: string | undefined }): AdminTarget {
  const url = values.url ?? process.env.TOKEN_BROKER_URL;
  if (!url) throw new UsageError('--url (or TOKEN_BROKER_URL) is required');
  const tokenFile = values['token-file'];
  // Tokens come from a file or the environment, never argv (visible to every process on the machine).
  const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : process.env.TOKEN_BROKER_ADMIN_TOKEN?.trim();
  if (!token) throw new UsageError('an admin token is required: --token-file FILE or TOKEN_BROKER_ADMIN_TOKEN');
  return { url: url.replace(/\/+$/, ''), token };
}

export async function adminGet(target: AdminTarget, path: string, query: Record<string, string | undefined> = {}): Promise<Response> {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const response = await fetch(`${target.url}${path}${params.size ? `?${params}` : ''}`, {
    headers: { Authorization: `Bearer ${target.token}` },
  });
  if (!response.ok) throw new Error(await describeError(response));
  return response;
}

export function adminPost(target: AdminTarget, path: string, body: unknown): Promise<Response> {
  return send(target, 'POST', path, body);
}

export function adminPut(target: AdminTarget, path: string, body: unknown): Promise<Response> {
  return send(target, 'PUT', path, body);
}

export function adminDelete(target: AdminTarget, path: string): Promise<Response> {
  return send(target, 'DELETE', path);
}

async function send(target: AdminTarget, method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(await describeError(response));
  return response;
}

async function describeError(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message?: unknown; request_id: string } };
    // Admin routes say what was wrong (e.g. a credential the policy does not define); control characters
    // from the wire are not passed on to the terminal.
    const message = typeof error.message === 'string' ? `: ${error.message.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300)}` : '';
    return `broker answered ${response.status} ${error.code}${message} (request ${error.request_id})`;
  } catch {
    return `broker answered ${response.status}`;
  }
}
