// Assistant › Analytics: what the assistant did over a range of days
// (GET /api/v1/assistant/analytics?from=&to=, by default the last 30 days):
// totals (turns, replies sent, drafts and their outcome, containment,
// approval and edit rates, tokens, cost, latency), then per day the intents
// detected, the containment rate (turns answered without a person), the
// approval and edit rates of decided drafts (as the API computes its
// totals: approved or edited over decided; edited over approved or edited), the average latency and the cost.
// Each chart has a table with the same numbers. Costs are in millionths of
// the currency unit in the API and shown in units.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, fmtNumber } from '../../lib/i18n.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Empty, Field, Spinner } from '../../components/index.js';
import { DayChart, fmtDay } from './chart.jsx';

const MAX_INTENTS = 8;

export function rate(n, d) {
  return d ? n / d : null;
}

function pct(v) {
  return v === null || v === undefined ? '—' : fmtNumber(v, { style: 'percent', maximumFractionDigits: 1 });
}

function cost(micros) {
  return fmtNumber((micros || 0) / 1e6, { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

function ms(v) {
  return v === null || v === undefined ? '—' : t('assistant.analytics.ms', { n: Math.round(v) });
}

function Stat({ name, label, value }) {
  return (
    <div class="mon-stat" data-stat={name}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/* A figure's table: one row per day, one column per series, behind a
   disclosure (a month of days is long); closed, it is still in the page. */
function DayTable({ caption, days, cols }) {
  return (
    <details class="ast-data">
      <summary>{t('assistant.analytics.show_numbers')}</summary>
      <div class="mon-scroll" tabIndex={0} role="region" aria-label={caption}>
        <table class="table mon-table">
          <caption class="sr-only">{caption}</caption>
          <thead>
            <tr>
              <th scope="col">{t('assistant.analytics.day')}</th>
              {cols.map((c) => (
                <th scope="col" key={c.label}>
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {days.map((day, i) => (
              <tr key={day} data-day={day}>
                <th scope="row">{fmtDay(day, { dateStyle: 'medium' })}</th>
                {cols.map((c) => (
                  <td key={c.label} data-col={c.key}>
                    {c.show(c.values[i])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/* The intents per day: the most frequent ones as series, the rest summed as "other". */
export function intentSeries(days, intents) {
  const total = new Map();
  for (const x of intents) total.set(x.intent, (total.get(x.intent) || 0) + x.count);
  const names = [...total.keys()].sort((a, b) => total.get(b) - total.get(a) || a.localeCompare(b));
  const top = names.slice(0, MAX_INTENTS);
  const rest = names.length > MAX_INTENTS;
  const idx = new Map(days.map((d, i) => [d, i]));
  const series = top.map((n) => ({ key: n, label: n || t('assistant.analytics.unknown_intent'), values: days.map(() => 0) }));
  const other = { key: '_other', label: t('assistant.analytics.other_intents'), values: days.map(() => 0) };
  for (const x of intents) {
    const i = idx.get(x.day);
    if (i === undefined) continue;
    const s = series.find((s) => s.key === x.intent);
    (s || other).values[i] += x.count;
  }
  return rest ? [...series, other] : series;
}

function Charts({ data }) {
  const rows = [...(data.days || [])].sort((a, b) => a.day.localeCompare(b.day));
  const days = rows.map((d) => d.day);
  if (!days.length) return <Empty title={t('assistant.analytics.no_days')} />;
  const num = (v) => fmtNumber(v || 0);
  const intents = intentSeries(days, data.intents || []);
  const containment = rows.map((d) => rate(d.contained, d.turns));
  // As the API's totals: approved = sent (as is or edited) / decided; edited = edited / sent.
  const approval = rows.map((d) => rate(d.approved + d.edited, d.approved + d.edited + d.rejected));
  const edits = rows.map((d) => rate(d.edited, d.approved + d.edited));
  const latency = rows.map((d) => d.latency_avg_ms);
  const costs = rows.map((d) => (d.cost_micros || 0) / 1e6);
  const pctAxis = (v) => fmtNumber(v, { style: 'percent', maximumFractionDigits: 0 });
  return (
    <div class="mon-grid ast-charts">
      <Card title={t('assistant.analytics.intents_title')} class="ast-chart-card" headingLevel={3}>
        {intents.length ? (
          <DayChart id="ast-chart-intents" caption={t('assistant.analytics.intents_caption')} days={days} series={intents} fmt={(v) => (Number.isInteger(v) ? fmtNumber(v) : '')}>
            <DayTable caption={t('assistant.analytics.intents_caption')} days={days} cols={intents.map((s) => ({ ...s, show: num }))} />
          </DayChart>
        ) : (
          <Empty title={t('assistant.analytics.no_intents')} />
        )}
      </Card>
      <Card title={t('assistant.analytics.containment_title')} class="ast-chart-card" headingLevel={3}>
        <DayChart id="ast-chart-containment" caption={t('assistant.analytics.containment_caption')} days={days} series={[{ label: t('assistant.analytics.containment_rate'), values: containment }]} fmt={pctAxis} yMax={1}>
          <DayTable
            caption={t('assistant.analytics.containment_caption')}
            days={days}
            cols={[
              { key: 'turns', label: t('assistant.analytics.turns'), values: rows.map((d) => d.turns), show: num },
              { key: 'contained', label: t('assistant.analytics.contained'), values: rows.map((d) => d.contained), show: num },
              { key: 'handed_over', label: t('assistant.analytics.handed_over'), values: rows.map((d) => d.handed_over), show: num },
              { key: 'containment_rate', label: t('assistant.analytics.containment_rate'), values: containment, show: pct },
            ]}
          />
        </DayChart>
      </Card>
      <Card title={t('assistant.analytics.approval_title')} class="ast-chart-card" headingLevel={3}>
        <DayChart
          id="ast-chart-approval"
          caption={t('assistant.analytics.approval_caption')}
          days={days}
          series={[
            { label: t('assistant.analytics.approval_rate'), values: approval },
            { label: t('assistant.analytics.edit_rate'), values: edits },
          ]}
          fmt={pctAxis}
          yMax={1}
        >
          <DayTable
            caption={t('assistant.analytics.approval_caption')}
            days={days}
            cols={[
              { key: 'drafted', label: t('assistant.analytics.drafted'), values: rows.map((d) => d.drafted), show: num },
              { key: 'approved', label: t('assistant.analytics.approved'), values: rows.map((d) => d.approved), show: num },
              { key: 'edited', label: t('assistant.analytics.edited'), values: rows.map((d) => d.edited), show: num },
              { key: 'rejected', label: t('assistant.analytics.rejected'), values: rows.map((d) => d.rejected), show: num },
              { key: 'approval_rate', label: t('assistant.analytics.approval_rate'), values: approval, show: pct },
              { key: 'edit_rate', label: t('assistant.analytics.edit_rate'), values: edits, show: pct },
            ]}
          />
        </DayChart>
      </Card>
      <Card title={t('assistant.analytics.latency_title')} class="ast-chart-card" headingLevel={3}>
        <DayChart id="ast-chart-latency" caption={t('assistant.analytics.latency_caption')} days={days} series={[{ label: t('assistant.analytics.latency'), values: latency }]} fmt={(v) => fmtNumber(v)}>
          <DayTable caption={t('assistant.analytics.latency_caption')} days={days} cols={[{ key: 'latency_avg_ms', label: t('assistant.analytics.latency'), values: latency, show: ms }]} />
        </DayChart>
      </Card>
      <Card title={t('assistant.analytics.cost_title')} class="ast-chart-card" headingLevel={3}>
        <DayChart id="ast-chart-cost" bars caption={t('assistant.analytics.cost_caption')} days={days} series={[{ label: t('assistant.analytics.cost'), values: costs, color: '#6b3fa0' }]} fmt={(v) => fmtNumber(v, { maximumFractionDigits: 4 })}>
          <DayTable caption={t('assistant.analytics.cost_caption')} days={days} cols={[{ key: 'cost', label: t('assistant.analytics.cost'), values: rows.map((d) => d.cost_micros), show: cost }]} />
        </DayChart>
      </Card>
    </div>
  );
}

export function Analytics() {
  const [form, setForm] = useState({ from: '', to: '' });
  const [range, setRange] = useState({});
  const [data, setData] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  useEffect(() => {
    let live = true;
    setBusy(true);
    api('GET', '/assistant/analytics' + qs(range))
      .then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(null);
          setForm((f) => (f.from || f.to ? f : { from: d.from, to: d.to }));
        },
        (e) => {
          if (!live) return;
          setError(e);
          toast.error(e);
        },
      )
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [range]);

  function apply(e) {
    e.preventDefault();
    if (form.from && form.to && form.from > form.to) {
      toast.error(t('assistant.analytics.bad_range'));
      return;
    }
    setRange({ from: form.from, to: form.to });
  }

  const tot = data && data.totals;
  return (
    <div class="ast-analytics">
      <form class="toolbar set-inline" aria-label={t('assistant.analytics.range')} onSubmit={apply}>
        <Field id="ast-from" type="date" label={t('assistant.analytics.from')} value={form.from} max={form.to || undefined} onInput={(e) => setForm({ ...form, from: e.currentTarget.value })} />
        <Field id="ast-to" type="date" label={t('assistant.analytics.to')} value={form.to} min={form.from || undefined} onInput={(e) => setForm({ ...form, to: e.currentTarget.value })} />
        <Button type="submit" variant="primary" busy={busy}>
          {t('assistant.analytics.show')}
        </Button>
      </form>
      {error && !data ? (
        <p role="alert" class="error-text">
          {error.message}
        </p>
      ) : null}
      {!data ? (
        error ? null : <Spinner />
      ) : (
        <>
          <p class="mon-range-text" data-range={`${data.from}/${data.to}`}>
            {t('assistant.analytics.range_text', { from: fmtDay(data.from, { dateStyle: 'medium' }), to: fmtDay(data.to, { dateStyle: 'medium' }) })}
          </p>
          <Card title={t('assistant.analytics.totals')}>
            <dl class="mon-stats mon-stats--wide" data-summary="totals">
              <Stat name="turns" label={t('assistant.analytics.turns')} value={fmtNumber(tot.turns)} />
              <Stat name="sent" label={t('assistant.analytics.sent')} value={fmtNumber(tot.sent)} />
              <Stat name="containment_rate" label={t('assistant.analytics.containment_rate')} value={pct(tot.containment_rate)} />
              <Stat name="drafted" label={t('assistant.analytics.drafted')} value={fmtNumber(tot.drafted)} />
              <Stat name="approved" label={t('assistant.analytics.approved')} value={fmtNumber(tot.approved)} />
              <Stat name="edited" label={t('assistant.analytics.edited')} value={fmtNumber(tot.edited)} />
              <Stat name="rejected" label={t('assistant.analytics.rejected')} value={fmtNumber(tot.rejected)} />
              <Stat name="approval_rate" label={t('assistant.analytics.approval_rate')} value={pct(tot.approval_rate)} />
              <Stat name="edit_rate" label={t('assistant.analytics.edit_rate')} value={pct(tot.edit_rate)} />
              <Stat name="handed_over" label={t('assistant.analytics.handed_over')} value={fmtNumber(tot.handed_over)} />
              <Stat name="stale" label={t('assistant.analytics.stale')} value={fmtNumber(tot.stale)} />
              <Stat name="emergency" label={t('assistant.analytics.emergency')} value={fmtNumber(tot.emergency)} />
              <Stat name="failed" label={t('assistant.analytics.failed')} value={fmtNumber(tot.failed)} />
              <Stat name="tokens" label={t('assistant.analytics.tokens')} value={fmtNumber((tot.prompt_tokens || 0) + (tot.completion_tokens || 0))} />
              <Stat name="cost" label={t('assistant.analytics.cost')} value={cost(tot.cost_micros)} />
              <Stat name="latency_avg_ms" label={t('assistant.analytics.latency')} value={ms(tot.latency_avg_ms)} />
            </dl>
          </Card>
          <h2 class="mon-h2">{t('assistant.analytics.per_day')}</h2>
          <Charts data={data} />
        </>
      )}
    </div>
  );
}
