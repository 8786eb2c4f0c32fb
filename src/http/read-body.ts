/**
 * Reads a request or response body as text, up to a byte limit. A declared Content-Length over the limit
 * is refused before reading; otherwise the stream is read chunk by chunk and cancelled as soon as it passes
 * the limit, so a huge body is never buffered whole.
 */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    /** The Content-Length it declared, when that is how it was caught. */
    readonly declaredBytes?: number,
  ) {
    super(declaredBytes === undefined ? `body over ${limitBytes} bytes` : `body of ${declaredBytes} bytes over ${limitBytes}`);
  }
}

export async function readTextCapped(message: Pick<Request, 'headers' | 'body'>, limitBytes: number): Promise<string> {
  const declared = Number(message.headers.get('Content-Length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limitBytes) {
    await message.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limitBytes, declared);
  }
  if (!message.body) return '';
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
