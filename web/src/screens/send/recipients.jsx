// The recipient selector: a search box above a fixed-height, smoothly
// scrolling list of contacts with checkboxes. The search filters by name (and
// address) locally as you type; what is chosen stays chosen when the filter
// hides it. "No recipients found." when nothing matches.
import { useMemo, useState } from 'preact/hooks';
import { Button, Field } from '../../components/index.js';
import { t } from '../../lib/i18n.js';

function label(c) {
  return c.name || c.phone || c.email || (c.identities[0] && c.identities[0].address) || c.id;
}

export function Recipients({ contacts, selected, onChange, decisions }) {
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    if (!f) return contacts;
    return contacts.filter((c) => (c.name || '').toLowerCase().includes(f) || c.identities.some((i) => i.address.toLowerCase().includes(f)));
  }, [contacts, filter]);
  const toggle = (id, on) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    onChange(next);
  };
  const allShown = shown.length > 0 && shown.every((c) => selected.has(c.id));
  return (
    <div class="recipients">
      <Field label={t('send.search_recipients')} type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder={t('send.search_placeholder')} />
      <div class="recipients-bar">
        <p class="recipients-count" aria-live="polite" data-selected={selected.size}>
          {t('send.selected', { count: selected.size })}
        </p>
        <div class="recipients-actions">
          <Button
            variant="ghost"
            disabled={!shown.length}
            onClick={() => {
              const next = new Set(selected);
              for (const c of shown) allShown ? next.delete(c.id) : next.add(c.id);
              onChange(next);
            }}
          >
            {allShown ? t('send.unselect_shown') : t('send.select_shown')}
          </Button>
          <Button variant="ghost" disabled={!selected.size} onClick={() => onChange(new Set())}>
            {t('send.clear')}
          </Button>
        </div>
      </div>
      <div class="recipients-box" role="group" aria-label={t('send.recipients')} tabIndex={-1}>
        {shown.length === 0 ? (
          <p class="recipients-empty">{t('send.no_recipients')}</p>
        ) : (
          <ul class="recipients-list">
            {shown.map((c) => {
              const d = decisions && decisions.get(c.id);
              const id = 'rcp-' + c.id;
              return (
                <li key={c.id} class={d && !d.ok ? 'is-excluded' : ''}>
                  <input type="checkbox" id={id} checked={selected.has(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} />
                  <label for={id}>
                    <span class="rcp-name">{label(c)}</span>
                    <span class="rcp-addr">{[c.phone, c.email].filter(Boolean).join(' · ')}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </div>
  );
}
