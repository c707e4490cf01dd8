// The template form: a new template (channel, account, name, language,
// category and content) or an edit of an existing one's content, with the
// live preview beside it. Roles without templates.update see it read-only.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Preview } from './preview.jsx';
import { Button, Field, Select } from '../../components/index.js';

const CHANNELS = ['sms', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'];
const CATEGORIES = ['UTILITY', 'MARKETING', 'AUTHENTICATION'];
const CHANNEL_OF = { twilio: 'sms', whatsapp: 'whatsapp', telegram: 'telegram', instagram: 'instagram', smtp: 'email', sendgrid: 'email', webchat: 'webchat' };

function content(tpl) {
  return {
    body: tpl ? tpl.body || '' : '',
    header: tpl ? tpl.header || '' : '',
    footer: tpl ? tpl.footer || '' : '',
    subject: tpl ? tpl.subject || '' : '',
    html: tpl ? tpl.html || '' : '',
  };
}

function TextField({ id, label, hint, value, onInput, multiline, readOnly, required, rows }) {
  return (
    <Field
      id={id}
      name={id}
      label={required ? `${label} *` : label}
      hint={hint}
      value={value}
      multiline={multiline}
      rows={multiline ? rows || 4 : undefined}
      readOnly={readOnly}
      required={required}
      onInput={(e) => onInput(e.currentTarget.value)}
    />
  );
}

export function Editor({ tpl, accounts, onSaved }) {
  const { can } = useSession();
  const isNew = !tpl;
  const editable = isNew ? can('templates.create') : can('templates.update') && tpl.source !== 'provider';
  const [channel, setChannel] = useState(tpl ? tpl.channel : 'sms');
  const [accountId, setAccountId] = useState(tpl ? tpl.account_id || '' : '');
  const [name, setName] = useState(tpl ? tpl.name : '');
  const [language, setLanguage] = useState(tpl ? tpl.language : 'en');
  const [category, setCategory] = useState(tpl ? tpl.category || 'UTILITY' : 'UTILITY');
  const [parts, setParts] = useState(content(tpl));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const set = (k) => (v) => setParts((p) => ({ ...p, [k]: v }));
  const email = channel === 'email';
  const channelAccounts = useMemo(
    () => (accounts || []).filter((a) => (a.channel || CHANNEL_OF[a.provider]) === channel),
    [accounts, channel],
  );
  const dirty = isNew || JSON.stringify(parts) !== JSON.stringify(content(tpl));
  const version = { ...parts, header: email ? '' : parts.header, footer: email ? '' : parts.footer };

  async function save(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let out;
      if (isNew) {
        const body = { channel, name: name.trim(), language: language.trim() || 'en', body: parts.body };
        if (accountId) body.account_id = accountId;
        if (channel === 'whatsapp') body.category = category;
        if (email) {
          body.subject = parts.subject;
          if (parts.html) body.html = parts.html;
        } else {
          if (parts.header) body.header = parts.header;
          if (parts.footer) body.footer = parts.footer;
        }
        out = await api('POST', '/templates', body);
        toast.ok(t('templates.toast.created', { name: out.name }));
      } else {
        const body = { body: parts.body };
        if (email) {
          body.subject = parts.subject;
          body.html = parts.html || null;
        } else {
          body.header = parts.header || null;
          body.footer = parts.footer || null;
        }
        out = await api('PATCH', `/templates/${tpl.id}`, body);
        toast.ok(t('templates.toast.saved', { name: out.name, version: out.version }));
      }
      onSaved(out);
    } catch (err) {
      setError(err);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }

  const idp = isNew ? 'tpl-new' : 'tpl-edit';
  return (
    <div class="tpl-editor">
      <form class="tpl-form" onSubmit={save} aria-label={isNew ? t('templates.new') : t('templates.edit')}>
        {isNew ? (
          <div class="tpl-row">
            <Select
              id={`${idp}-channel`}
              label={t('templates.fields.channel')}
              value={channel}
              onChange={(e) => {
                setChannel(e.currentTarget.value);
                setAccountId('');
              }}
              options={CHANNELS.map((c) => ({ value: c, label: t(`templates.channels.${c}`) }))}
            />
            <Select
              id={`${idp}-account`}
              label={t('templates.fields.account')}
              value={accountId}
              required={channel === 'whatsapp'}
              hint={channel === 'whatsapp' ? t('templates.hints.accountWhatsapp') : t('templates.hints.account')}
              onChange={(e) => setAccountId(e.currentTarget.value)}
              options={[
                { value: '', label: channel === 'whatsapp' ? t('templates.chooseAccount') : t('templates.anyAccount') },
                ...channelAccounts.map((a) => ({ value: a.id, label: a.name || a.address })),
              ]}
            />
          </div>
        ) : null}
        {isNew ? (
          <div class="tpl-row">
            <TextField
              id={`${idp}-name`}
              label={t('templates.fields.name')}
              hint={t('templates.hints.name')}
              value={name}
              required
              onInput={(v) => setName(v.toLowerCase().replace(/[^a-z0-9_]/g, '_'))}
            />
            <TextField id={`${idp}-language`} label={t('templates.fields.language')} hint={t('templates.hints.language')} value={language} onInput={setLanguage} />
            {channel === 'whatsapp' ? (
              <Select
                id={`${idp}-category`}
                label={t('templates.fields.category')}
                value={category}
                onChange={(e) => setCategory(e.currentTarget.value)}
                options={CATEGORIES.map((c) => ({ value: c, label: t(`templates.categories.${c}`) }))}
              />
            ) : null}
          </div>
        ) : null}
        {email ? (
          <TextField id={`${idp}-subject`} label={t('templates.fields.subject')} value={parts.subject} onInput={set('subject')} readOnly={!editable} required />
        ) : (
          <TextField id={`${idp}-header`} label={t('templates.fields.header')} value={parts.header} onInput={set('header')} readOnly={!editable} />
        )}
        <TextField
          id={`${idp}-body`}
          label={t('templates.fields.body')}
          hint={channel === 'whatsapp' ? t('templates.hints.bodyWhatsapp') : t('templates.hints.body')}
          value={parts.body}
          onInput={set('body')}
          readOnly={!editable}
          required
          multiline
          rows={5}
        />
        {email ? (
          <TextField id={`${idp}-html`} label={t('templates.fields.html')} value={parts.html} onInput={set('html')} readOnly={!editable} multiline rows={4} />
        ) : (
          <TextField id={`${idp}-footer`} label={t('templates.fields.footer')} value={parts.footer} onInput={set('footer')} readOnly={!editable} />
        )}
        {error ? (
          <p role="alert" class="error-text">
            {error.message}
          </p>
        ) : null}
        {editable ? (
          <div class="tpl-actions">
            <Button type="submit" variant="primary" busy={busy} disabled={!dirty}>
              {isNew ? t('templates.create') : tpl.status === 'approved' || tpl.status === 'rejected' ? t('templates.saveNewVersion') : t('templates.save')}
            </Button>
            {!isNew && (tpl.status === 'approved' || tpl.status === 'rejected') ? (
              <p class="field-hint">{t('templates.hints.newVersion')}</p>
            ) : null}
          </div>
        ) : !isNew ? (
          <p class="field-hint">{tpl.source === 'provider' ? t('templates.hints.provider') : t('templates.hints.readOnly')}</p>
        ) : null}
      </form>
      <Preview channel={channel} version={version} />
    </div>
  );
}
