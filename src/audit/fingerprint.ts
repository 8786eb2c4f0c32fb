/**
 * Fingerprints of issued values: HMAC-SHA256 under the audit key (a Worker secret). Auditors who hold a
 * candidate value and the key can tell whether it is the one that went out; the ledger never holds it.
 */
export type Fingerprinter = (value: string) => Promise<string>;

export function createFingerprinter(auditKey: string): Fingerprinter {
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(auditKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return async (value) => {
    const mac = await crypto.subtle.sign('HMAC', await key, new TextEncoder().encode(value));
    return `hmac-sha256:${[...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  };
}
