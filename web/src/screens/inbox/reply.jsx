// The reply box: the channel to answer on (only the accounts this contact can
// be reached on; the others listed with the reason, e.g. the WhatsApp window
// closed), free text, or an approved template of that account with an input
// per variable. Sends POST /api/v1/messages with an Idempotency-Key per
// draft, so a retried click never sends twice.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Button, Field, Select, channelName } from '../../components/index.js';
import { api, newKey, qs } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { templatePayload, templatePreview, templateVars } from '../../lib/templates.js';
import { toast } from '../../lib/toast.js';

const DAY = 24 * 3600 * 1000;
// The identity kind a channel sends to.
const KIND = { sms: 'phone', whatsapp: 'whatsapp', email: 'email', instagram: 'instagram' };

/**
 * The accounts a reply can go out on: [{account, ok, templateOnly, reason}].
 * Uses the contact's reachability (GET /api/v1/contacts/{id}: a dry run of
 * the send gate per channel account) and, until it has loaded, what the
 * conversation shows (identities, the last inbound message for the windows).
 */
export function replyOptions(conv, contact, accounts) {
  const reach = contact && contact.reachability;
  const list = Array.isArray(reach) ? reach : null;
  const ids = (contact && contact.identities) || (conv.contact && conv.contact.identities) || [];
  return accounts
    .filter((a) => (list ? list.some((x) => x.account_id === a.id) : a.id === conv.account_id || KIND[a.channel]))
    .map((a) => {
      const r = list && list.find((x) => x.account_id === a.id);
      if (r) {
        const templateOnly = !r.available && !!r.template_only;
        return { account: a, ok: !!r.available || templateOnly, templateOnly, reason: r.available ? null : reasonText(a, r.code, r.message) };
      }
      if (a.id !== conv.account_id && !ids.some((i) => i.kind === KIND[a.channel])) {
        return { account: a, ok: false, reason: reasonText(a, 'no_identity') };
      }
      const lastIn = a.id === conv.account_id ? Date.parse(conv.last_inbound_at || '') : NaN;
      if (a.channel === 'whatsapp' && !(Date.now() - lastIn < DAY)) {
        return { account: a, ok: true, templateOnly: true, reason: reasonText(a, 'outside_window') };
      }
      if (a.channel === 'instagram' && !(Date.now() - lastIn < 7 * DAY)) {
        return { account: a, ok: false, reason: reasonText(a, 'outside_window') };
      }
      return { account: a, ok: true };
    });
}

function reasonText(a, code, message) {
  if (!code) return message || null;
  const key = 'inbox.reach.' + code;
  const s = t(key, { channel: channelName(a.channel) });
  return s === key ? message || code : s;
}

function TemplatePicker({ account, onSend, busy }) {
  const [list, setList] = useState(null);
  const [chosen, setChosen] = useState('');
  const [vars, setVars] = useState({});
  useEffect(() => {
    setList(null);
    setChosen('');
    api('GET', '/templates' + qs({ account_id: account.id, status: 'approved' }))
      .then((r) => setList((r.data || []).filter((x) => x.sendable !== false)))
      .catch((e) => {
        setList([]);
        toast.error(e);
      });
  }, [account.id]);
  const tpl = list && list.find((x) => x.id === chosen);
  const names = templateVars(tpl);
  const preview = tpl ? templatePreview(tpl, vars) : '';
  const missing = names.filter((v) => !vars[v]);
  if (list === null) return <p class="muted">{t('common.loading')}</p>;
  if (!list.length) return <p class="muted">{t('inbox.no_templates', { channel: channelName(account.channel) })}</p>;
  const send = (e) => {
    e.preventDefault();
    onSend({ template: templatePayload(tpl, vars) }).then((ok) => ok && setVars({}));
  };
  return (
    <form class="tpl-picker" onSubmit={send}>
      <Select
        label={t('inbox.template')}
        value={chosen}
        onChange={(e) => {
          setChosen(e.currentTarget.value);
          setVars({});
        }}
        options={[{ value: '', label: t('inbox.choose_template') }, ...list.map((x) => ({ value: x.id, label: `${x.name} (${x.language})` }))]}
      />
      {tpl && (
        <>
          {names.map((v) => (
            <Field key={v} label={t('inbox.variable', { name: '{{' + v + '}}' })} value={vars[v] || ''} required onInput={(e) => setVars({ ...vars, [v]: e.currentTarget.value })} />
          ))}
          <p class="tpl-preview" aria-live="polite">
            <span class="sr-only">{t('inbox.preview')}: </span>
            {preview}
          </p>
          <Button type="submit" variant="primary" busy={busy} disabled={missing.length > 0}>
            {t('inbox.send_template')}
          </Button>
        </>
      )}
    </form>
  );
}

export function ReplyBox({ conv, contact, accounts, onSent }) {
  const options = useMemo(() => replyOptions(conv, contact, accounts), [conv, contact, accounts]);
  const [accountId, setAccountId] = useState(conv.account_id);
  const [text, setText] = useState('');
  const [useTemplate, setUseTemplate] = useState(false);
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(newKey);
  const opt = options.find((o) => o.account.id === accountId) || options.find((o) => o.ok) || null;
  useEffect(() => {
    setAccountId(conv.account_id);
    setUseTemplate(false);
  }, [conv.id]);
  const templateOnly = !!(opt && opt.templateOnly);
  const showTemplates = useTemplate || templateOnly;
  const unavailable = options.filter((o) => !o.ok);

  const send = async (payload) => {
    if (!opt) return false;
    setBusy(true);
    try {
      const m = await api('POST', '/messages', { account_id: opt.account.id, contact_id: conv.contact.id, ...payload }, { headers: { 'Idempotency-Key': key } });
      setKey(newKey());
      toast.ok(m.held_until ? t('inbox.sent_held') : t('inbox.sent'));
      onSent && onSent(m);
      return true;
    } catch (e) {
      toast.error(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const submitText = async (e) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    if (await send({ text: body })) setText('');
  };

  if (!options.length) return <p class="reply-none">{t('inbox.reach.none')}</p>;
  return (
    <section class="reply" aria-labelledby="reply-title">
      <h2 id="reply-title" class="sr-only">
        {t('inbox.reply')}
      </h2>
      <div class="reply-head">
        <Select
          label={t('inbox.reply_on')}
          value={opt ? opt.account.id : ''}
          class="reply-channel"
          onChange={(e) => setAccountId(e.currentTarget.value)}
          options={options.map((o) => ({
            value: o.account.id,
            disabled: !o.ok,
            label: `${channelName(o.account.channel)} · ${o.account.name}${o.ok ? '' : ' — ' + t('inbox.reach.unavailable')}`,
          }))}
        />
        {!templateOnly && (
          <Button variant="ghost" class="reply-toggle" aria-pressed={useTemplate ? 'true' : 'false'} onClick={() => setUseTemplate(!useTemplate)}>
            {useTemplate ? t('inbox.write_text') : t('inbox.use_template')}
          </Button>
        )}
      </div>
      {(templateOnly || unavailable.length > 0) && (
        <ul class="reply-reasons">
          {templateOnly && <li class="reply-reason" data-reason="outside_window">{opt.reason}</li>}
          {unavailable.map((o) => (
            <li key={o.account.id} class="reply-reason">
              {channelName(o.account.channel)}: {o.reason || t('inbox.reach.unavailable')}
            </li>
          ))}
        </ul>
      )}
      {opt && showTemplates ? (
        <TemplatePicker account={opt.account} onSend={send} busy={busy} />
      ) : (
        <form class="reply-form" onSubmit={submitText}>
          <Field
            label={t('inbox.message')}
            multiline
            rows={3}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submitText(e);
            }}
            hint={t('inbox.send_hint')}
          />
          <Button type="submit" variant="primary" busy={busy} disabled={!text.trim() || !opt}>
            {t('inbox.send')}
          </Button>
        </form>
      )}
    </section>
  );
}
