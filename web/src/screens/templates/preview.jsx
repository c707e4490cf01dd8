// The live preview of a template being written: one input per variable and
// the message as the customer will get it, rendered in the browser by
// render.js (the server's rules: same text, same escaping). Variables still
// empty are marked; a placeholder the server would refuse is shown as an
// error with its offset, as the API would say it.
import { useState } from 'preact/hooks';
import { t } from '../../lib/i18n.js';
import { Field } from '../../components/index.js';
import { renderParts, variablesOf, missingOf } from './render.js';

function Parts({ parts }) {
  return parts.map((p, i) =>
    p.name ? (
      p.missing ? (
        <mark key={i} class="tpl-missing">{`{{${p.name}}}`}</mark>
      ) : (
        <span key={i} class="tpl-filled">
          {p.value}
        </span>
      )
    ) : (
      <span key={i}>{p.text}</span>
    ),
  );
}

export function Preview({ channel, version }) {
  const [values, setValues] = useState({});
  let names = [];
  let rendered = null;
  let problem = null;
  try {
    names = variablesOf(version, channel);
    rendered = renderParts(version, channel, values);
  } catch (e) {
    problem = e;
  }
  const missing = rendered ? missingOf(rendered) : [];
  const htmlDoc = rendered && rendered.html ? rendered.html.map((p) => (p.name ? (p.missing ? `{{${p.name}}}` : p.value) : p.text)).join('') : null;

  return (
    <section class="tpl-live" aria-labelledby="tpl-live-title">
      <h3 id="tpl-live-title">{t('templates.preview.title')}</h3>
      {names.length ? (
        <fieldset class="tpl-vars">
          <legend>{t('templates.preview.variables')}</legend>
          {names.map((n) => (
            <Field
              key={n}
              id={`tpl-var-${n}`}
              label={`{{${n}}}`}
              data-variable={n}
              value={values[n] || ''}
              onInput={(e) => {
                const v = e.currentTarget.value;
                setValues((old) => ({ ...old, [n]: v }));
              }}
            />
          ))}
        </fieldset>
      ) : (
        <p class="field-hint">{t('templates.preview.noVariables')}</p>
      )}
      {problem ? (
        <p role="alert" class="error-text">
          {t('templates.preview.invalid', { offset: problem.offset ?? 0 })}
        </p>
      ) : (
        <div class="tpl-message" aria-live="polite">
          {rendered.subject ? (
            <p class="tpl-message__subject">
              <strong>{t('templates.fields.subject')}: </strong>
              <span data-preview="subject">
                <Parts parts={rendered.subject} />
              </span>
            </p>
          ) : null}
          <div class="tpl-bubble" data-preview="text">
            <Parts parts={rendered.text} />
          </div>
          {htmlDoc !== null ? (
            <iframe class="tpl-html" title={t('templates.preview.html')} sandbox="" srcdoc={htmlDoc} />
          ) : null}
          {missing.length ? (
            <p class="field-hint" data-preview="missing">
              {t('templates.preview.missing', { names: missing.join(', ') })}
            </p>
          ) : null}
        </div>
      )}
    </section>
  );
}
