// An unknown sender (a contact the first message created, with no name):
// save them as a contact (give the contact a name: PATCH /contacts/{id}), or
// link them to a contact who already exists (POST /contacts/{existing}/merge
// with this one as the source: identities, conversations and messages move
// to the existing contact).
import { useEffect, useState } from 'preact/hooks';
import { Button, Dialog, Field } from '../../components/index.js';
import { api, qs } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { toast } from '../../lib/toast.js';

function identityText(c) {
  return (c.identities || []).map((i) => i.address).join(', ') || c.email || c.phone || '';
}

export function UnknownSender({ conv, contact, onDone }) {
  const [mode, setMode] = useState(null);
  const [name, setName] = useState('');
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const [busy, setBusy] = useState(false);
  const me = conv.contact.id;
  const address = conv.contact.address || (contact && identityText(contact)) || '';

  useEffect(() => {
    if (mode !== 'link') return;
    const h = setTimeout(() => {
      api('GET', '/contacts' + qs({ q: q.trim(), limit: 20 }))
        .then((r) => setFound((r.data || []).filter((c) => c.id !== me)))
        .catch((e) => toast.error(e));
    }, 250);
    return () => clearTimeout(h);
  }, [mode, q]);

  const create = async (e) => {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    try {
      await api('PATCH', '/contacts/' + encodeURIComponent(me), { name: name.trim() });
      toast.ok(t('inbox.unknown.created', { name: name.trim() }));
      setMode(null);
      onDone(null);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  const link = async (target) => {
    setBusy(true);
    try {
      await api('POST', `/contacts/${encodeURIComponent(target.id)}/merge`, { source_contact_id: me });
      toast.ok(t('inbox.unknown.linked', { name: target.name || identityText(target) }));
      setMode(null);
      onDone(target);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="unknown" aria-labelledby="unknown-title">
      <h3 id="unknown-title">{t('inbox.unknown.title')}</h3>
      <p>{t('inbox.unknown.text', { address })}</p>
      <div class="unknown-actions">
        <Button variant="primary" onClick={() => setMode('create')}>
          {t('inbox.unknown.create')}
        </Button>
        <Button onClick={() => setMode('link')}>{t('inbox.unknown.link')}</Button>
      </div>
      <Dialog open={mode === 'create'} title={t('inbox.unknown.create')} onClose={() => setMode(null)}>
        <form onSubmit={create}>
          <Field label={t('inbox.unknown.name')} value={name} required autoFocus onInput={(e) => setName(e.currentTarget.value)} />
          <p class="muted">{t('inbox.unknown.create_hint', { address })}</p>
          <div class="dialog-buttons">
            <Button onClick={() => setMode(null)}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
              {t('inbox.unknown.save')}
            </Button>
          </div>
        </form>
      </Dialog>
      <Dialog open={mode === 'link'} title={t('inbox.unknown.link')} onClose={() => setMode(null)}>
        <Field label={t('inbox.unknown.search')} type="search" value={q} autoFocus onInput={(e) => setQ(e.currentTarget.value)} hint={t('inbox.unknown.link_hint', { address })} />
        {found === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : found.length === 0 ? (
          <p class="muted">{t('inbox.unknown.none_found')}</p>
        ) : (
          <ul class="pick-list" aria-label={t('inbox.unknown.results')}>
            {found.map((c) => (
              <li key={c.id}>
                <span class="pick-name">
                  <strong>{c.name || t('inbox.unknown_sender')}</strong>
                  <span class="muted">{identityText(c)}</span>
                </span>
                <Button busy={busy} onClick={() => link(c)} aria-label={t('inbox.unknown.link_to', { name: c.name || identityText(c) })}>
                  {t('inbox.unknown.choose')}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </Dialog>
    </section>
  );
}
