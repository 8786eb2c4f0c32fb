/**
 * A local stand-in for OpenAI's `GET /v1/user-auth-credential/whoami`, so the dev stack's fake demo token can
 * log Codex in offline. The Codex CLI (0.171) checks a personal access token against that endpoint in
 * `codex login --with-access-token` and again in `codex login status`; the real one refuses a fake token
 * (and needs the internet). Point Codex at the stand-in with `CODEX_AUTHAPI_BASE_URL=<baseUrl>`: Codex
 * appends `/v1/user-auth-credential/whoami` to that base (default https://auth.openai.com/api/accounts; a
 * trailing slash is tolerated), so the stand-in serves under the same `/api/accounts` prefix.
 *
 * It accepts ANY bearer token (401 without one) and answers with a fixed demo identity: for local
 * development and tests only, on loopback. `npm run dev` starts it next to the local Secrets Manager; tests
 * start their own. It records each request's Authorization header in memory for tests and never logs it.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const WHOAMI_PREFIX = '/api/accounts';
export const WHOAMI_PATH = `${WHOAMI_PREFIX}/v1/user-auth-credential/whoami`;

export interface WhoamiRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface WhoamiStandIn {
  /** The value for CODEX_AUTHAPI_BASE_URL. */
  baseUrl: string;
  port: number;
  requests: WhoamiRequest[];
  close(): Promise<void>;
}

export const WHOAMI_IDENTITY = {
  email: null,
  chatgpt_user_id: 'user-dev-0001',
  chatgpt_account_id: 'acct-dev-0001',
  chatgpt_plan_type: 'business',
  chatgpt_account_is_fedramp: false,
} as const;

/** Listens on 127.0.0.1 (`port` 0 or omitted: a free port). */
export async function startWhoamiStandIn(options: { port?: number } = {}): Promise<WhoamiStandIn> {
  const requests: WhoamiRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'GET' || path !== WHOAMI_PATH) return json(404, { error: { message: 'not found' } });
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return json(401, { error: { message: 'missing bearer token' } });
    return json(200, WHOAMI_IDENTITY);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${WHOAMI_PREFIX}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
