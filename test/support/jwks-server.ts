/**
 * A stand-in for an orchestrator's `jwks_uri`: serves a key set that tests can replace mid-run, counts
 * fetches, and can be told to fail. Loopback only.
 */
import { createServer, type Server } from 'node:http';

export interface JwksServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface State {
  jwks: { keys: unknown[] };
  fetches: number;
  mode: 'ok' | 'error' | 'hang' | 'huge';
}

export async function startJwksServer(options: { port?: number; jwks: { keys: unknown[] } }): Promise<JwksServer> {
  const state: State = { jwks: options.jwks, fetches: 0, mode: 'ok' };
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/jwks.json' && req.method === 'GET') {
      state.fetches++;
      if (state.mode === 'hang') return;
      if (state.mode === 'huge') {
        const padding = 'x'.repeat(200 * 1024);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...state.jwks, padding }));
        return;
      }
      if (state.mode === 'error') {
        res.writeHead(500).end('unavailable');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.jwks));
      return;
    }
    if (url.pathname === '/__control/state' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fetches: state.fetches, mode: state.mode }));
      return;
    }
    if (url.pathname === '/__control/state' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const update = JSON.parse(body || '{}') as Partial<State> & { resetFetches?: boolean };
        if (update.jwks) state.jwks = update.jwks;
        if (update.mode) state.mode = update.mode;
        if (update.resetFetches) state.fetches = 0;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fetches: state.fetches, mode: state.mode }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
