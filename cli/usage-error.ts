/** A mistake in how the command was called: print usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
