// The dictionaries: English and Spanish carry the same keys (plural forms
// aside), no string is empty, and every key the sources name in t('…') exists.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WEB_DIR } from './lib/server.mjs';

const PLURAL = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);
const load = (l) => JSON.parse(readFileSync(join(WEB_DIR, 'src', 'i18n', l + '.json'), 'utf8'));

function keys(obj, prefix = '', out = new Map()) {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? prefix + '.' + k : k;
    if (v && typeof v === 'object' && Object.keys(v).length && Object.keys(v).every((x) => PLURAL.has(x))) out.set(path, 'plural');
    else if (v && typeof v === 'object') keys(v, path, out);
    else out.set(path, v);
  }
  return out;
}

function sources(dir, out = []) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(jsx?|mjs)$/.test(f)) out.push(p);
  }
  return out;
}

test('en and es have the same keys, none empty', () => {
  const en = keys(load('en'));
  const es = keys(load('es'));
  assert.deepEqual([...es.keys()].filter((k) => !en.has(k)), [], 'keys only in es');
  assert.deepEqual([...en.keys()].filter((k) => !es.has(k)), [], 'keys missing from es');
  for (const [k, v] of [...en, ...es]) assert.ok(v === 'plural' || (typeof v === 'string' && v.trim()), `empty string at ${k}`);
});

test("every t('key') in the sources exists in en", () => {
  const en = keys(load('en'));
  const missing = [];
  for (const f of sources(join(WEB_DIR, 'src'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\(\s*'([a-z_]+(?:\.[a-z_0-9]+)+)'/g)) {
      if (!en.has(m[1])) missing.push(`${m[1]} (${f.slice(WEB_DIR.length + 1)})`);
    }
  }
  assert.deepEqual(missing, []);
});
