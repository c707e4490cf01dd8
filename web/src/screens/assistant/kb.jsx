// Assistant › Knowledge base: the documents the assistant answers from
// (/api/v1/kb/documents: title, tags, language, enabled, chunks, updated),
// a search that shows the ranked passages the assistant would retrieve
// (GET /api/v1/kb/search?q=&k=), and for owners and admins (kb.write) a
// create and edit form, enabling or disabling, deleting after a
// confirmation and a bulk import from a file whose report lists what was
// accepted and each rejected row with its reason.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, fmtDate, fmtNumber } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Checkbox, Dialog, Empty, Field, Select, Spinner } from '../../components/index.js';

const PAGE = 100;
const LANGS = ['en', 'es'];
// The import's Content-Type by the file's extension (the API refuses others).
const TYPES = { csv: 'text/csv', json: 'application/json', md: 'text/markdown', markdown: 'text/markdown', txt: 'text/plain' };

export function importType(name) {
  const ext = String(name || '').toLowerCase().split('.').pop();
  return TYPES[ext] || null;
}

function tagsOf(s) {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function Search() {
  const [q, setQ] = useState('');
  const [k, setK] = useState('5');
  const [res, setRes] = useState(null);
  const [busy, setBusy] = useState(false);
  async function run(e) {
    e.preventDefault();
    if (!q.trim()) return;
    setBusy(true);
    try {
      const r = await api('GET', '/kb/search' + qs({ q: q.trim(), k }));
      setRes({ q: q.trim(), data: r.data || [] });
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title={t('assistant.kb.search_title')}>
      <p class="field-hint">{t('assistant.kb.search_help')}</p>
      <form class="set-inline ast-search" role="search" aria-label={t('assistant.kb.search_title')} onSubmit={run}>
        <Field id="kb-q" type="search" label={t('assistant.kb.question')} value={q} onInput={(e) => setQ(e.currentTarget.value)} required />
        <Select id="kb-k" label={t('assistant.kb.k')} value={k} onChange={(e) => setK(e.currentTarget.value)} options={['3', '5', '10', '20'].map((v) => ({ value: v, label: v }))} />
        <Button type="submit" variant="primary" busy={busy}>
          {t('common.search')}
        </Button>
      </form>
      {res ? (
        res.data.length ? (
          <ol class="ast-passages" aria-label={t('assistant.kb.results_for', { q: res.q })}>
            {res.data.map((p) => (
              <li key={p.chunk_id} class="ast-passage" data-document={p.document_id}>
                <p class="ast-passage-head">
                  <strong>{p.title}</strong>{' '}
                  <span class="pill" data-score={p.score}>
                    {t('assistant.kb.score', { score: fmtNumber(p.score, { maximumFractionDigits: 3 }) })}
                  </span>
                </p>
                <p class="ast-passage-text">{p.text}</p>
              </li>
            ))}
          </ol>
        ) : (
          <Empty title={t('assistant.kb.no_results')} />
        )
      ) : null}
    </Card>
  );
}

function Import({ onDone }) {
  const file = useRef(null);
  const [language, setLanguage] = useState('en');
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const f = file.current && file.current.files[0];
    if (!f) return;
    const type = importType(f.name);
    if (!type) {
      toast.error(t('assistant.kb.import_type'));
      return;
    }
    setBusy(true);
    try {
      const r = await api('POST', '/kb/import' + qs({ language, title: title.trim() }), null, { raw: f, headers: { 'Content-Type': type } });
      setReport({ name: f.name, ...r });
      toast.ok(t('assistant.kb.imported', { count: r.accepted }));
      onDone();
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title={t('assistant.kb.import_title')}>
      <p class="field-hint">{t('assistant.kb.import_help')}</p>
      <form class="set-inline" onSubmit={submit} aria-label={t('assistant.kb.import_title')}>
        <Field id="kb-file" type="file" label={t('assistant.kb.file')} inputRef={file} accept=".csv,.json,.md,.markdown,.txt" required class="ast-file" />
        <Select id="kb-import-lang" label={t('assistant.kb.language')} value={language} onChange={(e) => setLanguage(e.currentTarget.value)} options={LANGS.map((l) => ({ value: l, label: t(`assistant.langs.${l}`) }))} />
        <Field id="kb-import-title" label={t('assistant.kb.import_doc_title')} hint={t('assistant.kb.import_doc_title_hint')} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <Button type="submit" variant="primary" busy={busy}>
          {t('assistant.kb.import')}
        </Button>
      </form>
      {report ? (
        <div class="ast-report" role="status" data-import-report>
          <h3>{t('assistant.kb.report_title', { name: report.name })}</h3>
          <p data-accepted={report.accepted}>{t('assistant.kb.accepted', { count: report.accepted })}</p>
          {report.rejected.length ? (
            <div class="set-scroll" tabIndex={0} role="region" aria-label={t('assistant.kb.rejected_title')}>
              <table class="table ast-rejected">
                <caption>{t('assistant.kb.rejected', { count: report.rejected.length })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('assistant.kb.row')}</th>
                    <th scope="col">{t('assistant.kb.reason')}</th>
                  </tr>
                </thead>
                <tbody>
                  {report.rejected.map((x) => (
                    <tr key={x.row} data-row={x.row}>
                      <th scope="row">{fmtNumber(x.row)}</th>
                      <td>{x.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>{t('assistant.kb.none_rejected')}</p>
          )}
        </div>
      ) : null}
    </Card>
  );
}

/* The create / edit form (a document's body is read when it opens). */
function DocForm({ doc, writable, onSaved, onClose }) {
  const [form, setForm] = useState(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    if (!doc || doc === 'new') {
      setForm({ title: '', body: '', tags: '', source: '', language: 'en', enabled: true });
      return;
    }
    api('GET', `/kb/documents/${encodeURIComponent(doc.id)}`).then(
      (d) => setForm({ title: d.title, body: d.body || '', tags: (d.tags || []).join(', '), source: d.source || '', language: d.language || 'en', enabled: d.enabled }),
      (e) => {
        toast.error(e);
        onClose();
      },
    );
  }, [doc]);
  const set = (k) => (e) => {
    const v = e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value;
    setForm((f) => ({ ...f, [k]: v }));
  };
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const body = { title: form.title.trim(), body: form.body, tags: tagsOf(form.tags), source: form.source.trim(), language: form.language, enabled: form.enabled };
    try {
      const d = doc === 'new' ? await api('POST', '/kb/documents', body) : await api('PATCH', `/kb/documents/${encodeURIComponent(doc.id)}`, body);
      toast.ok(t(doc === 'new' ? 'assistant.kb.created' : 'assistant.kb.saved', { title: d.title }));
      onSaved(d);
    } catch (err) {
      setProblem(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  if (!form) return <Spinner />;
  const ro = !writable;
  return (
    <form id="kb-doc-form" class="ast-docform" onSubmit={submit}>
      {problem ? <p class="form-error">{problem}</p> : null}
      <Field id="kb-title" label={t('assistant.kb.doc_title')} required maxLength={300} value={form.title} onInput={set('title')} readOnly={ro} />
      <Field id="kb-body" multiline rows={8} label={t('assistant.kb.body')} required value={form.body} onInput={set('body')} readOnly={ro} />
      <div class="set-row">
        <Field id="kb-tags" label={t('assistant.kb.tags')} hint={t('assistant.kb.tags_hint')} value={form.tags} onInput={set('tags')} readOnly={ro} />
        <Field id="kb-source" label={t('assistant.kb.source')} hint={t('assistant.kb.source_hint')} value={form.source} onInput={set('source')} readOnly={ro} />
      </div>
      <div class="set-row">
        <Select id="kb-lang" label={t('assistant.kb.language')} value={form.language} onChange={set('language')} disabled={ro} options={LANGS.map((l) => ({ value: l, label: t(`assistant.langs.${l}`) }))} />
        <Checkbox id="kb-enabled" label={t('assistant.kb.enabled_label')} checked={form.enabled} onChange={set('enabled')} disabled={ro} />
      </div>
      {writable ? (
        <div class="set-actions">
          <Button type="submit" variant="primary" busy={busy}>
            {doc === 'new' ? t('assistant.kb.create') : t('common.save')}
          </Button>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
        </div>
      ) : null}
    </form>
  );
}

export function KnowledgeBase() {
  const { can } = useSession();
  const writable = can('kb.write');
  const [docs, setDocs] = useState(null);
  const [more, setMore] = useState(false);
  const [open, setOpen] = useState(null); // 'new' or a document
  const [del, setDel] = useState(null);
  const [busy, setBusy] = useState(null);

  async function load(offset = 0) {
    try {
      const r = await api('GET', '/kb/documents' + qs({ limit: PAGE, offset }));
      const page = r.data || [];
      setDocs((ds) => (offset ? [...(ds || []), ...page] : page));
      setMore(page.length === PAGE);
    } catch (e) {
      toast.error(e);
      setDocs((ds) => ds || []);
    }
  }
  useEffect(() => {
    load();
  }, []);
  const reload = () => load(0);

  async function toggle(d) {
    setBusy(d.id);
    try {
      const n = await api('PATCH', `/kb/documents/${encodeURIComponent(d.id)}`, { enabled: !d.enabled });
      toast.ok(t(n.enabled ? 'assistant.kb.enabled_toast' : 'assistant.kb.disabled_toast', { title: n.title }));
      setDocs((ds) => ds.map((x) => (x.id === n.id ? { ...x, ...n } : x)));
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(null);
    }
  }
  async function remove() {
    setBusy(del.id);
    try {
      await api('DELETE', `/kb/documents/${encodeURIComponent(del.id)}`);
      toast.ok(t('assistant.kb.deleted', { title: del.title }));
      setDocs((ds) => ds.filter((x) => x.id !== del.id));
      setDel(null);
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div class="ast-kb">
      <Card
        title={t('assistant.kb.documents')}
        actions={
          writable ? (
            <Button variant="primary" onClick={() => setOpen('new')}>
              {t('assistant.kb.new')}
            </Button>
          ) : null
        }
      >
        {!writable ? <p class="field-hint">{t('assistant.kb.read_only')}</p> : null}
        {docs === null ? (
          <Spinner />
        ) : !docs.length ? (
          <Empty title={t('assistant.kb.empty')} />
        ) : (
          <div class="set-scroll" tabIndex={0} role="region" aria-label={t('assistant.kb.documents')}>
            <table class="table ast-table">
              <caption class="sr-only">{t('assistant.kb.documents')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('assistant.kb.doc_title')}</th>
                  <th scope="col" class="set-opt">
                    {t('assistant.kb.tags')}
                  </th>
                  <th scope="col">{t('assistant.kb.language')}</th>
                  <th scope="col">{t('assistant.kb.state')}</th>
                  <th scope="col" class="set-opt">
                    {t('assistant.kb.chunks')}
                  </th>
                  <th scope="col" class="set-opt">
                    {t('assistant.kb.updated')}
                  </th>
                  {writable ? <th scope="col">{t('assistant.kb.actions')}</th> : null}
                </tr>
              </thead>
              <tbody>
                {docs.map((d) => (
                  <tr key={d.id} data-doc={d.id} data-enabled={d.enabled ? 'true' : 'false'}>
                    <th scope="row">
                      <button type="button" class="btn btn-ghost ast-doclink" onClick={() => setOpen(d)}>
                        {d.title}
                      </button>
                    </th>
                    <td class="set-opt">{(d.tags || []).join(', ')}</td>
                    <td>{d.language}</td>
                    <td>
                      <span class={`pill ${d.enabled ? 'pill-ok' : ''}`}>{t(d.enabled ? 'assistant.kb.on' : 'assistant.kb.off')}</span>
                    </td>
                    <td class="set-opt">{fmtNumber(d.chunks)}</td>
                    <td class="set-opt">{fmtDate(d.updated_at)}</td>
                    {writable ? (
                      <td>
                        <div class="ast-rowactions">
                          <Button busy={busy === d.id} onClick={() => toggle(d)} aria-label={t(d.enabled ? 'assistant.kb.disable_of' : 'assistant.kb.enable_of', { title: d.title })}>
                            {t(d.enabled ? 'assistant.kb.disable' : 'assistant.kb.enable')}
                          </Button>
                          <Button variant="danger" disabled={busy === d.id} onClick={() => setDel(d)} aria-label={t('assistant.kb.delete_of', { title: d.title })}>
                            {t('assistant.kb.delete')}
                          </Button>
                        </div>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {more ? <Button onClick={() => load(docs.length)}>{t('assistant.kb.more')}</Button> : null}
      </Card>
      <Search />
      {writable ? <Import onDone={reload} /> : null}
      <Dialog open={!!open} wide title={open === 'new' ? t('assistant.kb.new') : open ? (writable ? t('assistant.kb.edit') : open.title) : ''} onClose={() => setOpen(null)}>
        {open ? (
          <DocForm
            key={open === 'new' ? 'new' : open.id}
            doc={open}
            writable={writable}
            onClose={() => setOpen(null)}
            onSaved={() => {
              setOpen(null);
              reload();
            }}
          />
        ) : null}
      </Dialog>
      <Dialog
        open={!!del}
        title={t('assistant.kb.delete_title')}
        onClose={() => setDel(null)}
        footer={
          <>
            <Button onClick={() => setDel(null)}>{t('common.cancel')}</Button>
            <Button variant="danger" busy={del && busy === del.id} onClick={remove}>
              {t('assistant.kb.delete')}
            </Button>
          </>
        }
      >
        <p>{del ? t('assistant.kb.delete_text', { title: del.title }) : ''}</p>
      </Dialog>
    </div>
  );
}
