/**
 * Which ledger shard a request belongs to. Every attempt with the same token (iss + jti) lands on the
 * same shard, so redemption counting for that token happens in one strongly consistent place.
 */
export function shardFor(key: string, shardCount: number): number {
  // FNV-1a: cheap, stable, well spread. Not a security boundary: shards are not secrets.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}

export function tokenShardKey(iss: string, jti: string): string {
  return `${iss}\n${jti}`;
}
