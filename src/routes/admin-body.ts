/** The JSON body of an admin request: small, capped before it is buffered, and JSON or a 400. */
import { BrokerError } from '../errors.ts';
import { BodyTooLargeError, readTextCapped } from '../http/read-body.ts';

export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

/** `fallback` is what an empty body means, where an empty body is allowed. */
export async function readAdminJson(request: Request, fallback?: unknown): Promise<unknown> {
  const text = await readTextCapped(request, MAX_ADMIN_BODY_BYTES).catch((error: unknown) => {
    if (error instanceof BodyTooLargeError) throw new BrokerError('invalid_request', `body over ${MAX_ADMIN_BODY_BYTES} bytes`);
    throw error;
  });
  if (text.trim() === '' && fallback !== undefined) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    throw new BrokerError('invalid_request', 'body is not JSON');
  }
}
