/**
 * A stand-in for the broker's `POST /v1/credentials/{name}`, for testing clients such as
 * examples/sandbox-boot.sh: answers from a script of responses, records every request, and lets a test look
 * at the machine while the client's request is in flight (e.g. to scan /proc for leaked secrets).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type StubAnswer =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Close the connection without answering (curl sees "empty reply from server"). */
  | { drop: true };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StubBroker {
  url: string;
  requests: RecordedRequest[];
  /** Errors thrown by onRequest (the request is answered anyway); tests should expect this to be empty. */
  hookErrors: unknown[];
  close(): Promise<void>;
}

export interface StubBrokerOptions {
  /** One answer per request, in order; the last one repeats. */
  answers: StubAnswer[];
  /** Runs before answering, while the client still waits (its processes are alive). */
  onRequest?: (request: RecordedRequest) => void | Promise<void>;
}

/** A 200 as the broker sends it to `Accept: text/plain`. */
export function credentialAnswer(kind: string, value: string, versionId = 'v-0001'): StubAnswer {
  const requestId = randomUUID();
  return {
    status: 200,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Credential-Kind': kind,
      'X-Credential-Version-Id': versionId,
      'X-Issuance-Id': `iss-${requestId}`,
      'X-Request-Id': requestId,
    },
    body: `${value}\n`,
  };
}

/** The broker's error shape: one line of JSON. */
export function errorAnswer(status: number, code: string, message = `stub ${code}`): StubAnswer {
  const requestId = randomUUID();
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Request-Id': requestId },
    body: JSON.stringify({ error: { code, message, request_id: requestId } }),
  };
}

export async function startStubBroker(options: StubBrokerOptions): Promise<StubBroker> {
  const requests: RecordedRequest[] = [];
  const hookErrors: unknown[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const answer = options.answers[Math.min(requests.length, options.answers.length - 1)];
      requests.push(recorded);
      void (async () => {
        try {
          await options.onRequest?.(recorded);
        } catch (error) {
          hookErrors.push(error);
        }
        if (!answer || 'drop' in answer) {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      })();
    });
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
    url: `http://127.0.0.1:${port}`,
    requests,
    hookErrors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
