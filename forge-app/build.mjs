// Builds the two Custom UI resources of the Forge app into static/<resource>/build (what manifest.yml names):
// the page's index.html, style.css and one bundled app.js with @forge/bridge inside.
//   node build.mjs              (from forge-app/, or `npm run build` there; the root `npm ci` runs it too)
//   node build.mjs --out DIR    (build elsewhere: DIR/<resource>/index.html ...)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const RESOURCES = ['connect-account', 'settings'];

/** Builds every resource under `outRoot` (default: this folder's static/); answers resource → folder. */
export async function buildForgeApp(outRoot) {
  const dirs = {};
  for (const name of RESOURCES) {
    const out = outRoot ? join(outRoot, name) : join(here, 'static', name, 'build');
    mkdirSync(out, { recursive: true });
    await build({
      entryPoints: [join(here, 'src', name, 'app.js')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      outfile: join(out, 'app.js'),
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'error',
    });
    copyFileSync(join(here, 'src', name, 'index.html'), join(out, 'index.html'));
    copyFileSync(join(here, 'src', 'common', 'style.css'), join(out, 'style.css'));
    dirs[name] = out;
  }
  return dirs;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const dirs = await buildForgeApp(i > 0 ? resolve(process.argv[i + 1]) : undefined);
  for (const [name, dir] of Object.entries(dirs)) console.log(`built ${name} -> ${dir}`);
}
