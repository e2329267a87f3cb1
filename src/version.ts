import { createRequire } from 'node:module';

/** The package version; src/ and dist/ both sit one level below package.json. */
export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}
