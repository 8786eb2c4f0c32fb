/**
 * A local stand-in for OpenAI's `GET /v1/user-auth-credential/whoami`, which the Codex CLI calls to check a
 * personal access token (`codex login --with-access-token` and again in `codex login status`). Point Codex at
 * it with `CODEX_AUTHAPI_BASE_URL=<url>`: Codex appends `/v1/user-auth-credential/whoami` to that base
 * (0.171: the default base is https://auth.openai.com/api/accounts; a trailing slash is tolerated), so the
 * stand-in serves under the same `/api/accounts` prefix. It records every request's Authorization header
 * and answers 401 without a bearer token.
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

export interface WhoamiServer {
  /** The value for CODEX_AUTHAPI_BASE_URL. */
  baseUrl: string;
  requests: WhoamiRequest[];
  close(): Promise<void>;
}

export const WHOAMI_IDENTITY = {
  email: null,
  chatgpt_user_id: 'user-e2e-0001',
  chatgpt_account_id: 'acct-e2e-0001',
  chatgpt_plan_type: 'business',
  chatgpt_account_is_fedramp: false,
} as const;

export async function startWhoamiServer(): Promise<WhoamiServer> {
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
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${WHOAMI_PREFIX}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
