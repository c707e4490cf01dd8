// Settings › Compliance: the opt-out keywords of each channel (STOP, START
// and HELP lists; the carriers' unless the tenant set its own:
// /api/v1/compliance/keywords) and the messaging settings (the HELP reply,
// quiet hours and the time zone: /api/v1/settings). Everyone may read them;
// changing them is compliance.update and settings.update.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Field, Select, Spinner, channelName } from '../../components/index.js';

const KINDS = ['stop', 'start', 'help'];

/* "STOP, end  quit" -> ["STOP", "END", "QUIT"] (keywords match case-insensitively). */
export function splitWords(s) {
  return String(s || '')
    .split(/[\s,]+/)
    .map((w) => w.trim().toUpperCase())
    .filter(Boolean)
    .filter((w, i, a) => a.indexOf(w) === i);
}

function Keywords() {
  const { can } = useSession();
  const editable = can('compliance.update');
  const [all, setAll] = useState(null);
  const [channel, setChannel] = useState('sms');
  const [draft, setDraft] = useState({ stop: '', start: '', help: '' });
  const [busy, setBusy] = useState(false);

  function fill(data, ch) {
    const k = data[ch] || { stop: [], start: [], help: [] };
    setDraft({ stop: k.stop.join(' '), start: k.start.join(' '), help: k.help.join(' ') });
  }
  async function load(ch = channel) {
    try {
      const data = await api('GET', '/compliance/keywords');
      setAll(data);
      fill(data, ch);
    } catch (e) {
      toast.error(e);
      setAll({});
    }
  }
  useEffect(() => {
    load();
  }, []);

  async function save(lists) {
    setBusy(true);
    try {
      const data = await api('PATCH', '/compliance/keywords', { [channel]: lists });
      setAll(data);
      fill(data, channel);
      toast.ok(t(lists ? 'settings.keywords.saved' : 'settings.keywords.reset', { channel: channelName(channel) }));
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  }

  if (all === null) return <Spinner />;
  const current = all[channel];
  const channels = Object.keys(all);
  return (
    <form
      class="set-form"
      aria-labelledby="set-kw-title"
      onSubmit={(e) => {
        e.preventDefault();
        save({ stop: splitWords(draft.stop), start: splitWords(draft.start), help: splitWords(draft.help) });
      }}
    >
      <h3 id="set-kw-title">{t('settings.keywords.title')}</h3>
      <p class="field-hint">{t('settings.keywords.help')}</p>
      <Select
        id="set-kw-channel"
        label={t('settings.keywords.channel')}
        value={channel}
        onChange={(e) => {
          const ch = e.currentTarget.value;
          setChannel(ch);
          fill(all, ch);
        }}
        options={channels.map((c) => ({ value: c, label: channelName(c) }))}
      />
      <p class="set-muted" data-keywords-default={current && current.default ? 'true' : 'false'}>
        {current && current.default ? t('settings.keywords.usingDefault') : t('settings.keywords.usingOwn')}
      </p>
      {KINDS.map((k) => (
        <Field
          key={`${channel}-${k}`}
          id={`set-kw-${k}`}
          label={t(`settings.keywords.${k}`)}
          hint={t(`settings.keywords.${k}Hint`)}
          value={draft[k]}
          readOnly={!editable}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, [k]: v }));
          }}
        />
      ))}
      {editable ? (
        <div class="set-actions">
          <Button type="submit" variant="primary" busy={busy}>
            {t('settings.keywords.save')}
          </Button>
          {current && !current.default ? (
            <Button disabled={busy} onClick={() => save(null)}>
              {t('settings.keywords.useDefault')}
            </Button>
          ) : null}
        </div>
      ) : (
        <p class="field-hint">{t('settings.readOnly')}</p>
      )}
    </form>
  );
}

function Messaging() {
  const { can } = useSession();
  const editable = can('settings.update');
  const [s, setS] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api('GET', '/settings').then(
      (d) => setS({ help_text: d.help_text || '', quiet_hours_start: d.quiet_hours_start || '', quiet_hours_end: d.quiet_hours_end || '', timezone: d.timezone || '' }),
      (e) => (toast.error(e), setS({ help_text: '', quiet_hours_start: '', quiet_hours_end: '', timezone: '' })),
    );
  }, []);
  if (!s) return <Spinner />;
  const set = (k) => (e) => {
    const v = e.currentTarget.value;
    setS((o) => ({ ...o, [k]: v }));
  };
  async function save(e) {
    e.preventDefault();
    setBusy(true);
    try {
      const body = {
        help_text: s.help_text.trim() || null,
        quiet_hours_start: s.quiet_hours_start || null,
        quiet_hours_end: s.quiet_hours_end || null,
        timezone: s.timezone.trim() || null,
      };
      const d = await api('PATCH', '/settings', body);
      setS({ help_text: d.help_text || '', quiet_hours_start: d.quiet_hours_start || '', quiet_hours_end: d.quiet_hours_end || '', timezone: d.timezone || '' });
      toast.ok(t('settings.messaging.saved'));
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="set-form" aria-labelledby="set-msg-title" onSubmit={save}>
      <h3 id="set-msg-title">{t('settings.messaging.title')}</h3>
      <Field
        id="set-help-text"
        multiline
        rows={3}
        maxLength={320}
        label={t('settings.messaging.helpText')}
        hint={t('settings.messaging.helpTextHint')}
        value={s.help_text}
        readOnly={!editable}
        onInput={set('help_text')}
      />
      <div class="set-row">
        <Field id="set-quiet-start" type="time" label={t('settings.messaging.quietStart')} value={s.quiet_hours_start} readOnly={!editable} onInput={set('quiet_hours_start')} />
        <Field id="set-quiet-end" type="time" label={t('settings.messaging.quietEnd')} value={s.quiet_hours_end} readOnly={!editable} onInput={set('quiet_hours_end')} />
      </div>
      <p class="field-hint">{t('settings.messaging.quietHint')}</p>
      <Field id="set-timezone" label={t('settings.messaging.timezone')} hint={t('settings.messaging.timezoneHint')} value={s.timezone} readOnly={!editable} onInput={set('timezone')} />
      {editable ? (
        <Button type="submit" variant="primary" busy={busy}>
          {t('settings.messaging.save')}
        </Button>
      ) : (
        <p class="field-hint">{t('settings.readOnly')}</p>
      )}
    </form>
  );
}

export function Compliance() {
  return (
    <Card title={t('settings.compliance.title')}>
      <Keywords />
      <Messaging />
    </Card>
  );
}
