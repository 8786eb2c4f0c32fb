/** The request's waitUntil when running in a Worker; absent when the app is driven without one (tests). */
export function waitUntilOf(c: { executionCtx: ExecutionContext }): ((work: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}
