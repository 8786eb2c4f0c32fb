/**
 * `npm run openapi`: writes src/openapi/openapi.json from the request schemas (src/openapi/build-document.ts).
 * The Worker serves that file, so zod's JSON Schema generator stays out of the deployed bundle; a test fails
 * when the file is not what the schemas generate now.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../src/openapi/build-document.ts';

export const OPENAPI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'openapi', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
}
