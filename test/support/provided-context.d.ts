import type { TestKeys } from './test-world.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    secretsManagerUrl: string;
    jwksUrl: string;
    blackholeUrl: string;
    closedPortUrl: string;
    testKeys: TestKeys;
    canaries: string[];
  }
}
