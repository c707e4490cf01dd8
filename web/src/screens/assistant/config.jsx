// Assistant › Settings: the tenant's agent configuration, kept as versions
// (GET/PUT /api/v1/assistant/config; the fields are those of "Agent
// configuration" in src/assistant/assistant.h). The form covers the common
// fields: on or off, identity, what to say when the knowledge base has no
// answer, mode and thresholds, channels, working hours, the provider with a
// write-only API key, who is alerted in an emergency (the on-call contact,
// the account that alerts them, the emergency phrases), when an undecided
// draft escalates, the languages, how long prompt logs are kept, and the
// intents with their examples. Saving sends
// only the top-level fields that changed and makes a new version; the API's
// invalid_config message names the field. Below, every version, the changes
// between any two (GET …/diff?from=&to=) and a rollback after a
// confirmation (POST …/versions/{v}/rollback, itself a new version). Owners
// and admins edit (assistant.config); the others read.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Checkbox, Dialog, Empty, Field, Select, Spinner, channelName } from '../../components/index.js';
import { fmtDay } from './chart.jsx';

export const CHANNELS = ['sms', 'whatsapp', 'telegram', 'instagram', 'email', 'webchat'];
const MODES = ['draft', 'threshold', 'auto'];
const ACTIONS = ['answer', 'handover', 'collect', 'book', 'emergency'];
const KINDS = ['extractive', 'openai'];
// The top-level fields the form edits (the others are kept as they are).
const EDITED = ['enabled', 'identity', 'grounding', 'languages', 'channels', 'working_hours', 'mode', 'auto_threshold', 'intent_threshold', 'intents', 'emergency_phrases', 'provider', 'handover', 'log_retention_days'];
const LANGUAGES = ['en', 'es'];
const lines = (text) => text.split('\n').map((x) => x.trim()).filter(Boolean);

const clone = (x) => JSON.parse(JSON.stringify(x));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The members of the form's config that differ from base, as the PUT's partial config. */
export function changes(base, cfg) {
  const out = {};
  for (const k of EDITED) {
    if (cfg[k] === undefined || same(base[k], cfg[k])) continue;
    out[k] = clone(cfg[k]);
  }
  if (out.provider) delete out.provider.api_key_set;
  return out;
}

function weekday(d) {
  // 2024-01-01 was a Monday (ISO day 1).
  return fmtDay(`2024-01-0${d}`, { weekday: 'short' });
}

function show(v) {
  return v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
}

function IntentEditor({ intents, ro, onChange }) {
  const set = (i, k, v) => onChange(intents.map((x, j) => (j === i ? { ...x, [k]: v } : x)));
  return (
    <fieldset class="ast-fieldset">
      <legend>{t('assistant.config.intents')}</legend>
      <p class="field-hint">{t('assistant.config.intents_help')}</p>
      {!intents.length ? <p>{t('assistant.config.no_intents')}</p> : null}
      <ol class="ast-intents">
        {intents.map((x, i) => (
          <li key={i} class="ast-intent" data-intent-index={i}>
            <div class="set-row">
              <Field id={`intent-name-${i}`} label={t('assistant.config.intent_name')} hint={t('assistant.config.intent_name_hint')} required pattern="[a-z0-9_]{1,64}" maxLength={64} value={x.name} readOnly={ro} onInput={(e) => set(i, 'name', e.currentTarget.value)} />
              <Select id={`intent-action-${i}`} label={t('assistant.config.intent_action')} value={x.action || 'answer'} disabled={ro} onChange={(e) => set(i, 'action', e.currentTarget.value)} options={ACTIONS.map((a) => ({ value: a, label: t(`assistant.config.actions.${a}`) }))} />
              <Select
                id={`intent-mode-${i}`}
                label={t('assistant.config.intent_mode')}
                value={x.mode || ''}
                disabled={ro}
                onChange={(e) => set(i, 'mode', e.currentTarget.value)}
                options={[{ value: '', label: t('assistant.config.inherit') }, ...MODES.map((m) => ({ value: m, label: t(`assistant.config.modes.${m}`) }))]}
              />
            </div>
            <Field
              id={`intent-examples-${i}`}
              multiline
              rows={3}
              label={t('assistant.config.intent_examples')}
              hint={t('assistant.config.intent_examples_hint')}
              value={(x.examples || []).join('\n')}
              readOnly={ro}
              onInput={(e) => set(i, 'examples', e.currentTarget.value.split('\n').map((s) => s.trim()).filter(Boolean))}
            />
            {!ro ? (
              <Button variant="ghost" onClick={() => onChange(intents.filter((_, j) => j !== i))} aria-label={t('assistant.config.remove_intent_of', { name: x.name || i + 1 })}>
                {t('assistant.config.remove_intent')}
              </Button>
            ) : null}
          </li>
        ))}
      </ol>
      {!ro ? <Button onClick={() => onChange([...intents, { name: '', examples: [], action: 'answer', mode: '', model: '' }])}>{t('assistant.config.add_intent')}</Button> : null}
    </fieldset>
  );
}

function Form({ current, ro, onSaved }) {
  const [cfg, setCfg] = useState(() => clone(current.config));
  const [apiKey, setApiKey] = useState('');
  const [dropKey, setDropKey] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const put = (k, v) => setCfg((c) => ({ ...c, [k]: v }));
  const sub = (k, f, v) => setCfg((c) => ({ ...c, [k]: { ...(c[k] || {}), [f]: v } }));
  const val = (e) => e.currentTarget.value;
  const idn = cfg.identity || {};
  const gr = cfg.grounding || {};
  const wh = cfg.working_hours || {};
  const pr = cfg.provider || {};
  const ch = cfg.channels || {};
  const ho = cfg.handover || {};
  const [contacts, setContacts] = useState([]);
  const [accounts, setAccounts] = useState([]);
  const [phrases, setPhrases] = useState(() => (cfg.emergency_phrases || []).join('\n'));
  useEffect(() => {
    api('GET', '/contacts' + qs({ limit: 100 })).then(
      (r) => setContacts(r.data || []),
      () => setContacts([]),
    );
    api('GET', '/channels').then(
      (r) => setAccounts(r.data || []),
      () => setAccounts([]),
    );
  }, []);
  const onCall = ho.on_call_contact_id || '';
  const contactOptions = [{ value: '', label: t('assistant.config.no_on_call') }]
    .concat(contacts.map((c) => ({ value: c.id, label: c.name || c.id })))
    .concat(onCall && !contacts.some((c) => c.id === onCall) ? [{ value: onCall, label: onCall }] : []);
  const accountOptions = [{ value: '', label: t('assistant.config.same_account') }].concat(
    accounts.map((a) => ({ value: a.id, label: `${a.name} (${channelName(a.channel)})` })),
  );

  async function submit(e) {
    e.preventDefault();
    const body = { config: changes(current.config, cfg) };
    if (apiKey) body.api_key = apiKey;
    else if (dropKey) body.api_key = '';
    if (note.trim()) body.note = note.trim();
    if (!Object.keys(body.config).length && body.api_key === undefined) {
      toast.error(t('assistant.config.nothing_changed'));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const r = await api('PUT', '/assistant/config', body);
      toast.ok(t('assistant.config.saved', { version: r.version }));
      onSaved(r);
    } catch (err) {
      setProblem(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }

  const num = (k) => (e) => put(k, e.currentTarget.value === '' ? '' : Number(e.currentTarget.value));
  return (
    <form class="ast-config" onSubmit={submit} aria-label={t('assistant.config.form')}>
      {problem ? (
        <p class="form-error" role="alert" data-config-error>
          {problem}
        </p>
      ) : null}
      <Checkbox id="cfg-enabled" label={t('assistant.config.enabled')} checked={!!cfg.enabled} disabled={ro} onChange={(e) => put('enabled', e.currentTarget.checked)} />
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.identity')}</legend>
        <div class="set-row">
          <Field id="cfg-name" label={t('assistant.config.name')} value={idn.name || ''} readOnly={ro} onInput={(e) => sub('identity', 'name', val(e))} />
          <Field id="cfg-tone" label={t('assistant.config.tone')} value={idn.tone || ''} readOnly={ro} onInput={(e) => sub('identity', 'tone', val(e))} />
        </div>
        <Field id="cfg-persona" multiline rows={3} label={t('assistant.config.persona')} value={idn.persona || ''} readOnly={ro} onInput={(e) => sub('identity', 'persona', val(e))} />
        <Checkbox id="cfg-kb-only" label={t('assistant.config.kb_only')} checked={!!gr.kb_only} disabled={ro} onChange={(e) => sub('grounding', 'kb_only', e.currentTarget.checked)} />
        <Field id="cfg-unknown" multiline rows={2} label={t('assistant.config.unknown_answer')} value={gr.unknown_answer || ''} readOnly={ro} onInput={(e) => sub('grounding', 'unknown_answer', val(e))} />
      </fieldset>
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.mode_title')}</legend>
        <div class="set-row">
          <Select id="cfg-mode" label={t('assistant.config.mode')} value={cfg.mode || 'draft'} disabled={ro} onChange={(e) => put('mode', val(e))} options={MODES.map((m) => ({ value: m, label: t(`assistant.config.modes.${m}`) }))} />
          <Field id="cfg-auto-threshold" type="number" min="0" max="1" step="0.01" label={t('assistant.config.auto_threshold')} hint={t('assistant.config.auto_threshold_hint')} value={cfg.auto_threshold} readOnly={ro} onInput={num('auto_threshold')} />
          <Field id="cfg-intent-threshold" type="number" min="0" max="1" step="0.01" label={t('assistant.config.intent_threshold')} hint={t('assistant.config.intent_threshold_hint')} value={cfg.intent_threshold} readOnly={ro} onInput={num('intent_threshold')} />
        </div>
      </fieldset>
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.channels')}</legend>
        <div class="ast-checks">
          {CHANNELS.map((c) => (
            <Checkbox key={c} id={`cfg-ch-${c}`} label={channelName(c)} checked={!!ch[c]} disabled={ro} onChange={(e) => sub('channels', c, e.currentTarget.checked)} />
          ))}
        </div>
      </fieldset>
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.hours')}</legend>
        <Checkbox id="cfg-always" label={t('assistant.config.always')} checked={!!wh.always} disabled={ro} onChange={(e) => sub('working_hours', 'always', e.currentTarget.checked)} />
        {!wh.always ? (
          <>
            <div class="ast-checks" role="group" aria-label={t('assistant.config.days')}>
              {[1, 2, 3, 4, 5, 6, 7].map((d) => (
                <Checkbox
                  key={d}
                  id={`cfg-day-${d}`}
                  label={weekday(d)}
                  checked={(wh.days || []).includes(d)}
                  disabled={ro}
                  onChange={(e) => sub('working_hours', 'days', e.currentTarget.checked ? [...(wh.days || []), d].sort() : (wh.days || []).filter((x) => x !== d))}
                />
              ))}
            </div>
            <div class="set-row">
              <Field id="cfg-start" type="time" label={t('assistant.config.start')} value={wh.start || ''} readOnly={ro} onInput={(e) => sub('working_hours', 'start', val(e))} />
              <Field id="cfg-end" type="time" label={t('assistant.config.end')} value={wh.end || ''} readOnly={ro} onInput={(e) => sub('working_hours', 'end', val(e))} />
            </div>
          </>
        ) : null}
        <p class="field-hint">{t('assistant.config.hours_hint')}</p>
      </fieldset>
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.provider')}</legend>
        <div class="set-row">
          <Select id="cfg-kind" label={t('assistant.config.kind')} value={pr.kind || 'extractive'} disabled={ro} onChange={(e) => sub('provider', 'kind', val(e))} options={KINDS.map((k) => ({ value: k, label: t(`assistant.config.kinds.${k}`) }))} />
          <Field id="cfg-model" label={t('assistant.config.model')} value={pr.model || ''} readOnly={ro} onInput={(e) => sub('provider', 'model', val(e))} />
        </div>
        <Field id="cfg-base-url" type="url" label={t('assistant.config.base_url')} value={pr.base_url || ''} readOnly={ro} onInput={(e) => sub('provider', 'base_url', val(e))} />
        <p data-api-key-set={pr.api_key_set ? 'true' : 'false'}>{t(pr.api_key_set ? 'assistant.config.key_set' : 'assistant.config.key_unset')}</p>
        {!ro ? (
          <>
            <Field id="cfg-api-key" type="password" autocomplete="new-password" label={t('assistant.config.api_key')} hint={t('assistant.config.api_key_hint')} value={apiKey} onInput={(e) => setApiKey(val(e))} />
            {pr.api_key_set ? <Checkbox id="cfg-drop-key" label={t('assistant.config.drop_key')} checked={dropKey} disabled={!!apiKey} onChange={(e) => setDropKey(e.currentTarget.checked)} /> : null}
          </>
        ) : null}
        <div class="set-row">
          <Field id="cfg-prompt-price" type="number" min="0" step="1" label={t('assistant.config.prompt_price')} hint={t('assistant.config.price_hint')} value={pr.prompt_price_per_1k ?? 0} readOnly={ro} onInput={(e) => sub('provider', 'prompt_price_per_1k', Number(val(e)))} />
          <Field id="cfg-completion-price" type="number" min="0" step="1" label={t('assistant.config.completion_price')} hint={t('assistant.config.price_hint')} value={pr.completion_price_per_1k ?? 0} readOnly={ro} onInput={(e) => sub('provider', 'completion_price_per_1k', Number(val(e)))} />
        </div>
      </fieldset>
      <fieldset class="ast-fieldset">
        <legend>{t('assistant.config.handover')}</legend>
        <div class="set-row">
          <Select id="cfg-on-call" label={t('assistant.config.on_call')} hint={t('assistant.config.on_call_hint')} value={onCall} disabled={ro} onChange={(e) => sub('handover', 'on_call_contact_id', val(e))} options={contactOptions} />
          <Select id="cfg-on-call-account" label={t('assistant.config.on_call_account')} value={ho.on_call_account_id || ''} disabled={ro} onChange={(e) => sub('handover', 'on_call_account_id', val(e))} options={accountOptions} />
        </div>
        <Field
          id="cfg-emergency"
          multiline
          rows={4}
          label={t('assistant.config.emergency_phrases')}
          hint={t('assistant.config.emergency_hint')}
          value={phrases}
          readOnly={ro}
          onInput={(e) => {
            setPhrases(val(e));
            put('emergency_phrases', lines(val(e)));
          }}
        />
        <div class="set-row">
          <Field id="cfg-escalate" type="number" min="0" max="10080" step="1" label={t('assistant.config.escalate_after')} hint={t('assistant.config.escalate_hint')} value={Math.round((ho.draft_escalate_after_s ?? 900) / 60)} readOnly={ro} onInput={(e) => sub('handover', 'draft_escalate_after_s', Math.round(Number(val(e)) * 60))} />
          <Field id="cfg-retention" type="number" min="1" max="3650" step="1" label={t('assistant.config.log_retention')} hint={t('assistant.config.log_retention_hint')} value={cfg.log_retention_days ?? 30} readOnly={ro} onInput={num('log_retention_days')} />
        </div>
        <div class="ast-checks" role="group" aria-label={t('assistant.config.languages')}>
          {LANGUAGES.map((l) => (
            <Checkbox
              key={l}
              id={`cfg-lang-${l}`}
              label={t(`assistant.config.language_names.${l}`)}
              checked={(cfg.languages || []).includes(l)}
              disabled={ro || ((cfg.languages || []).length === 1 && (cfg.languages || []).includes(l))}
              onChange={(e) => put('languages', e.currentTarget.checked ? [...(cfg.languages || []), l] : (cfg.languages || []).filter((x) => x !== l))}
            />
          ))}
        </div>
      </fieldset>
      <IntentEditor intents={cfg.intents || []} ro={ro} onChange={(v) => put('intents', v)} />
      {!ro ? (
        <div class="ast-save">
          <Field id="cfg-note" label={t('assistant.config.note')} hint={t('assistant.config.note_hint')} maxLength={199} value={note} onInput={(e) => setNote(val(e))} />
          <Button type="submit" variant="primary" busy={busy}>
            {t('assistant.config.save')}
          </Button>
        </div>
      ) : null}
    </form>
  );
}

function Versions({ versions, current, canEdit, userName, onRolledBack }) {
  const latest = current.version;
  const older = versions.find((v) => v.version !== latest);
  const [from, setFrom] = useState(String(older ? older.version : latest));
  const [to, setTo] = useState(String(latest));
  const [diff, setDiff] = useState(null);
  const [busy, setBusy] = useState(false);
  const [back, setBack] = useState(null);

  async function compare(e) {
    e && e.preventDefault();
    setBusy(true);
    try {
      setDiff(await api('GET', '/assistant/config/diff' + qs({ from, to })));
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  async function rollback() {
    setBusy(true);
    try {
      const r = await api('POST', `/assistant/config/versions/${back.version}/rollback`);
      toast.ok(t('assistant.config.rolled_back', { from: back.version, version: r.version }));
      setBack(null);
      setDiff(null);
      onRolledBack(r);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  const opts = versions.map((v) => ({ value: String(v.version), label: t('assistant.config.version_n', { version: v.version }) }));
  return (
    <Card title={t('assistant.config.versions')}>
      {!versions.length ? (
        <Empty title={t('assistant.config.no_versions')} />
      ) : (
        <>
          <div class="set-scroll" tabIndex={0} role="region" aria-label={t('assistant.config.versions')}>
            <table class="table ast-table">
              <caption class="sr-only">{t('assistant.config.versions')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('assistant.config.version')}</th>
                  <th scope="col">{t('assistant.config.note')}</th>
                  <th scope="col" class="set-opt">
                    {t('assistant.config.by')}
                  </th>
                  <th scope="col" class="set-opt">
                    {t('assistant.config.when')}
                  </th>
                  {canEdit ? <th scope="col">{t('assistant.kb.actions')}</th> : null}
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version} data-version={v.version}>
                    <th scope="row">
                      {v.version}
                      {v.version === latest ? <span class="pill pill-ok ast-current">{t('assistant.config.current')}</span> : null}
                    </th>
                    <td>{v.note || '—'}</td>
                    <td class="set-opt">{userName(v.created_by)}</td>
                    <td class="set-opt">{fmtDate(v.created_at)}</td>
                    {canEdit ? (
                      <td>
                        {v.version !== latest ? (
                          <Button onClick={() => setBack(v)} aria-label={t('assistant.config.rollback_of', { version: v.version })}>
                            {t('assistant.config.rollback')}
                          </Button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <form class="set-inline ast-diffform" onSubmit={compare} aria-labelledby="ast-diff-h">
            <h3 id="ast-diff-h">{t('assistant.config.compare')}</h3>
            <Select id="cfg-diff-from" label={t('assistant.config.diff_from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} options={opts} />
            <Select id="cfg-diff-to" label={t('assistant.config.diff_to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} options={opts} />
            <Button type="submit" busy={busy}>
              {t('assistant.config.show_changes')}
            </Button>
          </form>
          {diff ? (
            diff.changes.length ? (
              <div class="set-scroll" tabIndex={0} role="region" aria-label={t('assistant.config.diff_caption', { from: diff.from, to: diff.to })}>
                <table class="table ast-diff" data-diff={`${diff.from}-${diff.to}`}>
                  <caption>{t('assistant.config.diff_caption', { from: diff.from, to: diff.to })}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('assistant.config.path')}</th>
                      <th scope="col">{t('assistant.config.was')}</th>
                      <th scope="col">{t('assistant.config.became')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {diff.changes.map((c) => (
                      <tr key={c.path} data-path={c.path}>
                        <th scope="row">
                          <code>{c.path}</code>
                        </th>
                        <td class="ast-was">
                          <code>{show(c.from)}</code>
                        </td>
                        <td class="ast-became">
                          <code>{show(c.to)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p role="status">{t('assistant.config.no_changes', { from: diff.from, to: diff.to })}</p>
            )
          ) : null}
        </>
      )}
      <Dialog
        open={!!back}
        title={t('assistant.config.rollback_title')}
        onClose={() => setBack(null)}
        footer={
          <>
            <Button onClick={() => setBack(null)}>{t('common.cancel')}</Button>
            <Button variant="danger" busy={busy} onClick={rollback}>
              {t('assistant.config.rollback')}
            </Button>
          </>
        }
      >
        <p>{back ? t('assistant.config.rollback_text', { version: back.version }) : ''}</p>
      </Dialog>
    </Card>
  );
}

export function Config() {
  const { can } = useSession();
  const canEdit = can('assistant.config');
  const [current, setCurrent] = useState(null);
  const [versions, setVersions] = useState(null);
  const [users, setUsers] = useState([]);
  const [error, setError] = useState(null);

  async function load() {
    try {
      const [c, vs] = await Promise.all([api('GET', '/assistant/config'), api('GET', '/assistant/config/versions')]);
      setCurrent(c);
      setVersions(vs.data || []);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    load();
    api('GET', '/users').then(
      (r) => setUsers(r.data || []),
      () => {},
    );
  }, []);
  const userName = (id) => {
    const u = users.find((x) => x.id === id);
    return u ? u.name || u.email : id || '—';
  };

  if (error) {
    return (
      <p role="alert" class="error-text">
        {error.message}
      </p>
    );
  }
  if (!current || !versions) return <Spinner />;
  return (
    <div class="ast-config-page">
      <Card title={t('assistant.config.title')}>
        <p class="ast-muted" data-current-version={current.version}>
          {current.version
            ? t('assistant.config.current_text', { version: current.version, who: userName(current.created_by), when: fmtDate(current.created_at) })
            : t('assistant.config.defaults_text')}
          {current.note ? ` · ${current.note}` : ''}
        </p>
        {!canEdit ? <p class="field-hint">{t('assistant.config.read_only')}</p> : null}
        <Form key={current.version} current={current} ro={!canEdit} onSaved={load} />
      </Card>
      <Versions key={current.version} versions={versions} current={current} canEdit={canEdit} userName={userName} onRolledBack={load} />
    </div>
  );
}
