// A template's history: every version, newest first, with who wrote,
// submitted and decided it, when, and why a rejection was made
// (GET /api/v1/templates/{id}/versions).
import { t, fmtDate } from '../../lib/i18n.js';

/* "user:usr_…" -> the id; "system" stays as it is. */
function who(actor) {
  if (!actor) return '';
  const i = actor.indexOf(':');
  return i > 0 ? `${t(`templates.actors.${actor.slice(0, i)}`)} ${actor.slice(i + 1)}` : t(`templates.actors.${actor}`);
}

export function History({ versions }) {
  if (!versions || !versions.length) return null;
  return (
    <section class="tpl-history" aria-labelledby="tpl-history-title">
      <h3 id="tpl-history-title">{t('templates.history.title')}</h3>
      <ol class="tpl-versions">
        {versions.map((v) => (
          <li key={v.version} class="tpl-version" data-version={v.version}>
            <p class="tpl-version__head">
              <strong>{t('templates.history.version', { version: v.version })}</strong>{' '}
              <span class={`tpl-badge tpl-badge--${v.status}`}>{t(`templates.status.${v.status}`)}</span>
            </p>
            <ul class="tpl-events">
              <li>{t('templates.history.created', { who: who(v.created_by), when: fmtDate(v.created_at) })}</li>
              {v.submitted_at ? <li>{t('templates.history.submitted', { who: who(v.submitted_by), when: fmtDate(v.submitted_at) })}</li> : null}
              {v.decided_at ? (
                <li>
                  {t(v.status === 'rejected' ? 'templates.history.rejected' : 'templates.history.approved', {
                    who: who(v.decided_by),
                    when: fmtDate(v.decided_at),
                  })}
                  {v.reason ? <q class="tpl-reason">{v.reason}</q> : null}
                </li>
              ) : null}
            </ul>
            <details>
              <summary>{t('templates.history.content')}</summary>
              {v.subject ? <p class="tpl-pre">{v.subject}</p> : null}
              {v.header ? <p class="tpl-pre">{v.header}</p> : null}
              <p class="tpl-pre">{v.body}</p>
              {v.footer ? <p class="tpl-pre">{v.footer}</p> : null}
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
