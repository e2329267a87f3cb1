import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

/** The ```ts blocks of a markdown file, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

test('the TypeScript examples in docs/api.md type-check against the real exports', { timeout: 180_000 }, () => {
  const blocks = tsBlocks(readFileSync(join(root, 'docs/api.md'), 'utf8'));
  assert.ok(blocks.length >= 2, 'the doc has TypeScript examples');
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-doc-examples-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const files = blocks.map((code, i) => {
    const name = `example-${i + 1}.ts`;
    writeFileSync(join(dir, name), `${code}\nexport {};\n`);
    return name;
  });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        jsx: 'react-jsx',
        jsxImportSource: 'hono/jsx',
        typeRoots: [join(root, 'node_modules/@types')],
        types: ['node'],
        // The package's own names, as an app that installed onbehalf would import them.
        paths: { onbehalf: [join(root, 'src/index.ts')], 'onbehalf/client': [join(root, 'src/client/index.ts')] },
      },
      files,
    }),
  );
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  // Only errors in the examples count: the sources themselves are checked by `npm run typecheck`.
  const exampleErrors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /example-\d+\.ts/.test(l));
  assert.deepEqual(exampleErrors, [], exampleErrors.join('\n'));
  // A deliberately wrong example must fail, so the check cannot pass vacuously.
  writeFileSync(join(dir, files[0] as string), `import { createClient } from 'onbehalf/client';\ncreateClient({ baseUrl: 1 });\nexport {};\n`);
  const bad = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  assert.match(`${bad.stdout}`, /example-1\.ts.*error TS/);
});

test('the confluence.js example in docs/api.md builds a host that reaches the API base of every kind of site', { timeout: 180_000 }, () => {
  // confluence.js sends every call to `${host}/wiki/rest/...` (BaseClient's urlSuffix). Issue 15: the doc
  // used the origin of apiBaseUrl, which loses the sandbox's /s/<site> prefix and the 3LO /ex/... one.
  const doc = readFileSync(join(root, 'docs/api.md'), 'utf8');
  const expr = /new ConfluenceClient\(\{ host: (.+?), authentication:/.exec(doc)?.[1];
  assert.ok(expr, 'docs/api.md has the confluence.js example');
  const hostFor = new Function('t', `return ${expr};`) as (t: { apiBaseUrl: string }) => string;
  for (const apiBaseUrl of ['http://127.0.0.1:4100/s/acme/wiki', 'https://acme.atlassian.net/wiki', 'https://api.atlassian.com/ex/confluence/a1c0e000-0000-4000-8000-000000000001/wiki']) {
    assert.equal(`${hostFor({ apiBaseUrl })}/wiki/rest/api/user/current`, `${apiBaseUrl}/rest/api/user/current`, apiBaseUrl);
  }
});
