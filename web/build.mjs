// Builds the dashboard into dist/ for the server to serve (SB_WEB_DIR):
//   dist/index.html                 the one page, naming the hashed assets
//   dist/assets/main-<hash>.js      the entry (ES module) and its lazy chunks
//   dist/assets/main-<hash>.css     every stylesheet: src/styles/*.css, then src/screens/*/*.css
//   dist/widget.js                  the chat widget (web/widget/src/widget.js), when present
// Prints each file's gzipped size and exits 1 when the dashboard (all JS and CSS
// under assets/) is over 250 KB gzipped or the widget over 30 KB.
// Usage: node build.mjs [--dev] (dev: no minification, inline source maps).
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const assets = join(dist, 'assets');
const dev = process.argv.includes('--dev');
const BUDGET_DASHBOARD = 250 * 1024;
const BUDGET_WIDGET = 30 * 1024;

const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
  legalComments: 'none',
};

// Stylesheets are not imported from JS (esbuild would split them per lazy
// chunk without loading them); they are gathered here into one file.
function cssEntry() {
  const styles = readdirSync(join(src, 'styles')).filter((f) => f.endsWith('.css')).sort();
  const order = ['base.css', 'layout.css', 'components.css'];
  styles.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const files = styles.map((f) => join('styles', f));
  const screens = join(src, 'screens');
  for (const dir of readdirSync(screens).sort()) {
    const d = join(screens, dir);
    if (!existsSync(d) || !readdirSync(d).length) continue;
    for (const f of readdirSync(d).sort()) if (f.endsWith('.css')) files.push(join('screens', dir, f));
  }
  return files.map((f) => `@import "./${f.split('\\').join('/')}";`).join('\n');
}

function gz(file) {
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

function kb(n) {
  return (n / 1024).toFixed(1) + ' KB';
}

async function main() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });

  const js = await esbuild.build({
    ...common,
    entryPoints: { main: join(src, 'main.jsx') },
    outdir: assets,
    format: 'esm',
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    loader: { '.svg': 'text' },
    metafile: true,
    define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
  });
  const css = await esbuild.build({
    ...common,
    stdin: { contents: cssEntry(), resolveDir: src, loader: 'css', sourcefile: 'styles.css' },
    outdir: assets,
    entryNames: 'main-[hash]',
    metafile: true,
  });

  const outputs = (m) => Object.keys(m.metafile.outputs).map((f) => join(process.cwd(), f));
  const jsFiles = outputs(js).filter((f) => f.endsWith('.js'));
  const cssFile = outputs(css).find((f) => f.endsWith('.css'));
  const entry = Object.entries(js.metafile.outputs).find(([, o]) => o.entryPoint)[0];
  const entryName = basename(entry);
  const cssName = basename(cssFile);

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Switchboard</title>
<link rel="stylesheet" href="/assets/${cssName}">
<link rel="modulepreload" href="/assets/${entryName}">
</head>
<body>
<div id="app"></div>
<noscript>Switchboard needs JavaScript.</noscript>
<script type="module" src="/assets/${entryName}"></script>
</body>
</html>
`;
  writeFileSync(join(dist, 'index.html'), html);

  let total = 0;
  const rows = [];
  for (const f of [...jsFiles, cssFile]) {
    const size = gz(f);
    total += size;
    rows.push([relative(dist, f), size]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  for (const [name, size] of rows) console.log(`  ${name.padEnd(40)} ${kb(size).padStart(10)} gzipped`);
  console.log(`dashboard: ${kb(total)} gzipped (budget ${kb(BUDGET_DASHBOARD)})`);
  let over = total > BUDGET_DASHBOARD;

  const widgetSrc = join(root, 'widget', 'src', 'widget.js');
  if (existsSync(widgetSrc)) {
    await esbuild.build({
      ...common,
      entryPoints: [widgetSrc],
      outfile: join(dist, 'widget.js'),
      format: 'iife',
    });
    const w = gz(join(dist, 'widget.js'));
    console.log(`widget.js: ${kb(w)} gzipped (budget ${kb(BUDGET_WIDGET)})`);
    if (w > BUDGET_WIDGET) over = true;
  }
  if (over) {
    console.error('build: over the size budget');
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
