// Template helpers shared by the reply box and the send screen.

/** The template's placeholders in first-use order: its variables, else read from the body. */
export function templateVars(tpl) {
  if (!tpl) return [];
  if (tpl.variables && tpl.variables.length) return tpl.variables;
  const seen = [];
  for (const m of String(tpl.body || '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) if (!seen.includes(m[1])) seen.push(m[1]);
  return seen;
}

/** The body with the values filled in (a placeholder without a value stays as it is). */
export function templatePreview(tpl, vars) {
  return String((tpl && tpl.body) || '').replace(/\{\{\s*(\w+)\s*\}\}/g, (m, n) => vars[n] || m);
}

/** The template member of POST /api/v1/messages: positional values as an array, named ones as an object. */
export function templatePayload(tpl, vars) {
  const names = templateVars(tpl);
  const positional = names.every((n) => /^\d+$/.test(n));
  const variables = positional
    ? names
        .slice()
        .sort((a, b) => a - b)
        .map((n) => vars[n] || '')
    : Object.fromEntries(names.map((n) => [n, vars[n] || '']));
  return { name: tpl.name, language: tpl.language, variables };
}
