import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { allCommands } from '../../src/cli/commands/index.js';
import { CONFIG_VARIABLES } from '../../src/config.js';

/**
 * The user docs may only name settings and commands that exist, and their links must land. A doc that
 * mentions a variable nobody reads, or a command the CLI does not have, sends an operator astray.
 */
const root = resolve(new URL('../../', import.meta.url).pathname);
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (rel: string) => readFileSync(join(root, rel), 'utf8');

const FENCE = /^```[^\n]*\n[\s\S]*?^```/gm;
const withoutCode = (md: string) => md.replace(FENCE, '');
/** Inline code spans and fenced blocks: where commands and variables are written. */
const codeOf = (md: string) => [...(md.match(FENCE) ?? []), ...(withoutCode(md).match(/`[^`\n]+`/g) ?? [])];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutCode(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (m[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

test('relative links in README.md and docs/ point at files and headings that exist', () => {
  const broken: string[] = [];
  for (const doc of docs) {
    for (const m of withoutCode(read(doc)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? doc : join(dirname(doc), path);
      if (!existsSync(join(root, file))) {
        broken.push(`${doc}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every ONBEHALF_ variable the docs name is one the configuration reads', () => {
  const known = new Set(CONFIG_VARIABLES.map((v) => v.env));
  const unknown: string[] = [];
  for (const doc of docs) {
    for (const m of read(doc).matchAll(/\bONBEHALF_[A-Z0-9_]*[A-Z0-9]\b/g)) if (!known.has(m[0])) unknown.push(`${doc}: ${m[0]}`);
  }
  assert.deepEqual(unknown, []);
});

test('every `onbehalf <command>` the docs show is a command of the CLI', () => {
  const commands = allCommands().map((c) => c.name);
  const groups = new Set(commands.filter((n) => n.length > 1).map((n) => n[0]));
  const exists = (words: string[]) => commands.some((n) => n.every((w, i) => words[i] === w));
  const unknown: string[] = [];
  for (const doc of docs) {
    for (const code of codeOf(read(doc))) {
      for (const m of code.matchAll(/(?:^|[\s`(])onbehalf ([a-z]+)(?: ([a-z]+))?/gm)) {
        const words = [m[1] ?? '', m[2] ?? ''];
        const ok = groups.has(words[0]) ? exists(words) : exists(words.slice(0, 1));
        if (!ok) unknown.push(`${doc}: onbehalf ${words.join(' ').trim()}`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});

test('the checks above can fail', () => {
  assert.ok(anchorsOf('## OAuth 2.0 (3LO)\n## Metrics (`/metrics`)\n## Metrics (`/metrics`)').has('metrics-metrics-1'));
  assert.ok(anchorsOf('## Connect\'s end of support').has('connects-end-of-support'));
  assert.ok(!anchorsOf('```sh\n# not a heading\n```').has('not-a-heading'));
  assert.ok(!CONFIG_VARIABLES.some((v) => v.env === 'ONBEHALF_NO_SUCH_VARIABLE'));
});
