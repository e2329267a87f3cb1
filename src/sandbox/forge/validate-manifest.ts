import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Atlassian's own manifest validation (`@forge/manifest`, what `forge lint` and `forge deploy` run), applied to
 * a manifest given as text. The package validates a file on disk and checks that each resource folder exists
 * and has an `index.html`, so the text is written into a throw-away folder with the resources copied beside it
 * (a symbolic link does not count as a folder there).
 *
 * The package is a devDependency: a clone (`npm ci`) has it; an install of the published package may not, and
 * then only the sandbox's own §10.1 rules apply (`available: false` says so).
 */

export interface AtlassianValidation {
  available: boolean;
  errors: string[];
  warnings: string[];
}

interface ValidationError {
  message: string;
  level?: string;
  line?: number;
}
type ValidateFn = (basic: boolean, path: string) => Promise<{ success: boolean; errors?: ValidationError[] }>;

let loaded: Promise<ValidateFn | null> | null = null;
const cache = new Map<string, AtlassianValidation>();

function loadValidator(): Promise<ValidateFn | null> {
  loaded ??= import('@forge/manifest').then(
    (mod) => {
      const m = mod as unknown as { validate?: ValidateFn; default?: { validate?: ValidateFn } };
      return m.validate ?? m.default?.validate ?? null;
    },
    () => null,
  );
  return loaded;
}

/** `resourceDirs`: resource key → local folder (the built Custom UI); missing ones stand in as an empty page. */
export async function validateWithAtlassian(manifestText: string, resources: { key: string; path: string }[], resourceDirs: Record<string, string>): Promise<AtlassianValidation> {
  const validate = await loadValidator();
  if (!validate) return { available: false, errors: [], warnings: [] };
  const cacheKey = createHash('sha256').update(manifestText).update(JSON.stringify(resources.map((r) => [r.key, r.path, resourceDirs[r.key] ?? null]))).digest('hex');
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-forge-manifest-'));
  try {
    writeFileSync(join(dir, 'manifest.yml'), manifestText);
    for (const r of resources) {
      const target = resolve(dir, r.path);
      // A resource path outside the app folder is the validator's to report; never write outside the temp dir.
      if (!target.startsWith(dir + '/') || existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      const given = resourceDirs[r.key];
      if (given !== undefined) cpSync(resolve(given), target, { recursive: true });
      else {
        mkdirSync(target);
        writeFileSync(join(target, 'index.html'), '<!doctype html><p>This resource was not uploaded to the sandbox.</p>');
      }
    }
    const result = await validate(false, join(dir, 'manifest.yml'));
    const all = result.errors ?? [];
    if (!result.success && all.length === 0) all.push({ message: 'the manifest did not pass @forge/manifest validation', level: 'error' });
    const fmt = (e: ValidationError) => (e.line ? `${e.message} (manifest.yml line ${e.line})` : e.message);
    const out: AtlassianValidation = {
      available: true,
      errors: all.filter((e) => e.level !== 'warning').map(fmt),
      warnings: all.filter((e) => e.level === 'warning').map(fmt),
    };
    if (cache.size > 100) cache.clear();
    cache.set(cacheKey, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
