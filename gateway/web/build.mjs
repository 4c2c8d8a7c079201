// Bundles the dashboard page for kam-board: src/main.ts -> app.js (minified, one file),
// plus index.html, app.css and favicon.svg copied as they are. Nothing is fetched at run
// time and nothing is inlined into the HTML (the gateway's CSP allows only 'self').
//
//   node build.mjs                      -> ../../build/web (the repository's build/web)
//   node build.mjs <outdir>             -> <outdir>
//   node build.mjs --outdir <outdir>    -> <outdir>
// `npm run build -- <outdir>` type-checks first (tsc --noEmit), then runs this.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let outdir = path.resolve(here, '../../build/web');
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--outdir') outdir = path.resolve(args[++i] ?? '');
  else if (a.startsWith('--outdir=')) outdir = path.resolve(a.slice('--outdir='.length));
  else if (!a.startsWith('-')) outdir = path.resolve(a);
  else throw new Error(`build.mjs: unknown option ${a}`);
}
if (outdir === here || outdir.startsWith(here + path.sep)) {
  throw new Error(`build.mjs: the output (${outdir}) must not be inside gateway/web`);
}

await mkdir(outdir, { recursive: true });
for (const stale of ['app.js', 'app.js.map', 'app.css', 'index.html', 'favicon.svg']) {
  await rm(path.join(outdir, stale), { force: true });
}
const result = await build({
  entryPoints: [path.join(here, 'src/main.ts')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outfile: path.join(outdir, 'app.js'),
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"', __DEV__: 'false' },
  metafile: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css', 'favicon.svg']) {
  await copyFile(path.join(here, 'src', f), path.join(outdir, f));
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`web: built ${outdir} (app.js ${(bytes / 1024).toFixed(0)} KiB)`);
