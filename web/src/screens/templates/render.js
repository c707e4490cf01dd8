/*
 * The template renderer of src/template/ (template_render.c) in the browser,
 * for the editor's live preview: the same placeholder syntax ({{name}} or
 * {{1}}..{{99}}, spaces allowed inside the braces), the same variable order
 * (first use across subject, header, body, footer, HTML), the same text
 * (header, body and footer joined by blank lines) and the same HTML escaping.
 * A saved template's preview also comes from the server (POST .../preview);
 * the e2e test checks that both agree.
 */

const SPAN = 64 + 32; /* TEMPLATE_VAR_MAX + 32: longest inside of {{ … }} */
const NAME = /^(?:[A-Za-z_][A-Za-z0-9_]{0,63}|[1-9][0-9]?)$/;

/* Splits text into parts: {text} runs and {name} placeholders. Throws
 * {code: 'invalid_template', offset} where the server would refuse it. */
export function scan(text) {
  const parts = [];
  let p = 0;
  for (;;) {
    const s = text.indexOf('{{', p);
    if (s < 0) {
      if (p < text.length) parts.push({ text: text.slice(p) });
      return parts;
    }
    let q = s + 2;
    let span = 0;
    while (q < text.length && span < SPAN && !(text[q] === '}' && text[q + 1] === '}')) {
      q++;
      span++;
    }
    if (text[q] !== '}' || text[q + 1] !== '}') throw Object.assign(new Error('invalid_template'), { code: 'invalid_template', offset: s });
    const name = text.slice(s + 2, q).replace(/^ +| +$/g, '');
    if (!NAME.test(name)) throw Object.assign(new Error('invalid_template'), { code: 'invalid_template', offset: s });
    if (s > p) parts.push({ text: text.slice(p, s) });
    parts.push({ name });
    p = q + 2;
  }
}

/* The variables of a version in first-use order, as the server lists them. */
export function variablesOf(v, channel) {
  const seen = [];
  const order = channel === 'email' ? [v.subject, v.header, v.body, v.footer, v.html] : [v.header, v.body, v.footer];
  for (const text of order) {
    if (!text) continue;
    for (const part of scan(text)) if (part.name && !seen.includes(part.name)) seen.push(part.name);
  }
  return seen;
}

export function htmlEscape(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/* One text with values: a list of {text} and {name, value|missing}. */
function fill(text, values, html) {
  return scan(text || '').map((part) => {
    if (!part.name) return part;
    const value = values[part.name];
    if (value === undefined || value === null || value === '') return { name: part.name, missing: true };
    return { name: part.name, value: html ? htmlEscape(value) : value };
  });
}

/* Segments of a rendered version: {text, subject, html}, each a list of
 * parts (text runs, filled or missing variables). */
export function renderParts(v, channel, values) {
  const text = [];
  if (v.header) text.push(...fill(v.header, values, false), { text: '\n\n' });
  text.push(...fill(v.body, values, false));
  if (v.footer) text.push({ text: '\n\n' }, ...fill(v.footer, values, false));
  const email = channel === 'email';
  return {
    text,
    subject: email && v.subject ? fill(v.subject, values, false) : null,
    html: email && v.html ? fill(v.html, values, true) : null,
  };
}

/* Parts to a string; missing variables stay as {{name}}. */
export function joinParts(parts) {
  if (!parts) return null;
  return parts.map((p) => (p.name ? (p.missing ? `{{${p.name}}}` : p.value) : p.text)).join('');
}

/* The names of the variables still without a value. */
export function missingOf(rendered) {
  const out = [];
  for (const list of [rendered.subject, rendered.text, rendered.html])
    for (const p of list || []) if (p.missing && !out.includes(p.name)) out.push(p.name);
  return out;
}
