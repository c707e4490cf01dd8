// Monitoring: the tenant's traffic over a chosen time range, per channel
// (GET /api/v1/monitoring/summary?from=&to=&channel=): messages by status
// and the delivery rate, messages received, the most frequent failure
// reasons, the status-callback latency per provider, and the job queue now
// with its dead-letter jobs (retry or discard for the roles allowed to).
// Each chart has its numbers in a table beside it.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../../lib/api.js';
import { t, useLocale, fmtDate, fmtNumber } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { Button, Card, ChannelIcon, Empty, PageHeader, Select, Spinner, Field, channelName } from '../../components/index.js';
import { BarChart } from './chart.jsx';
import { DeadJobs } from './deadjobs.jsx';

const OUT = ['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered'];
const CHANNELS = ['sms', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'];
const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

function pct(rate) {
  return rate === null || rate === undefined ? '—' : fmtNumber(rate, { style: 'percent', maximumFractionDigits: 1 });
}

function ms(v) {
  if (v === null || v === undefined) return t('monitoring.latency.overHour');
  return v >= 60000 ? t('monitoring.latency.minutes', { n: v / 60000 }) : t('monitoring.latency.seconds', { n: v / 1000 });
}

/* "from"/"to" ISO strings for a preset or the custom inputs. */
function rangeOf(preset, custom) {
  if (preset === 'custom') {
    const from = Date.parse(custom.from);
    const to = Date.parse(custom.to);
    if (Number.isNaN(from) || Number.isNaN(to)) return null;
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  }
  const to = Date.now();
  return { from: new Date(to - RANGES[preset]).toISOString(), to: new Date(to).toISOString() };
}

function Stat({ label, value, name }) {
  return (
    <div class="mon-stat" data-stat={name}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function totals(channels) {
  const sum = { total: 0, delivered: 0, failed: 0, received: 0, settled: 0 };
  for (const c of channels) {
    const o = c.outbound || {};
    sum.total += o.total || 0;
    sum.delivered += (o.delivered || 0) + (o.read || 0);
    sum.failed += (o.failed || 0) + (o.undelivered || 0);
    sum.settled += (o.delivered || 0) + (o.read || 0) + (o.failed || 0) + (o.undelivered || 0);
    sum.received += (c.inbound && c.inbound.received) || 0;
  }
  sum.rate = sum.settled ? sum.delivered / sum.settled : null;
  return sum;
}

function ChannelCard({ c }) {
  const o = c.outbound || {};
  const tableId = `mon-table-${c.channel}`;
  return (
    <section class="card mon-channel" data-channel={c.channel} aria-labelledby={`mon-ch-${c.channel}`}>
      <div class="card-head">
        <h3 class="card-title" id={`mon-ch-${c.channel}`}>
          <ChannelIcon channel={c.channel} withName />
        </h3>
      </div>
      <dl class="mon-stats">
        <Stat name="outbound" label={t('monitoring.outbound')} value={fmtNumber(o.total || 0)} />
        <Stat name="delivery_rate" label={t('monitoring.deliveryRate')} value={pct(c.delivery_rate)} />
        <Stat name="received" label={t('monitoring.received')} value={fmtNumber((c.inbound && c.inbound.received) || 0)} />
      </dl>
      <BarChart
        caption={t('monitoring.byStatusOf', { channel: channelName(c.channel) })}
        labels={OUT.map((s) => t(`monitoring.status.${s}`))}
        values={OUT.map((s) => o[s] || 0)}
      >
        <table class="table mon-table" id={tableId}>
          <caption class="sr-only">{t('monitoring.byStatusOf', { channel: channelName(c.channel) })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('monitoring.statusCol')}</th>
              <th scope="col">{t('monitoring.messages')}</th>
            </tr>
          </thead>
          <tbody>
            {OUT.map((s) => (
              <tr key={s}>
                <th scope="row">{t(`monitoring.status.${s}`)}</th>
                <td data-status={s}>{fmtNumber(o[s] || 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </BarChart>
    </section>
  );
}

function Latency({ items }) {
  if (!items.length) return <Empty title={t('monitoring.latency.none')} />;
  return items.map((p) => {
    const cum = p.buckets || [];
    const counts = cum.map((b, i) => b.count - (i ? cum[i - 1].count : 0));
    const labels = cum.map((b) => (b.le_ms === null ? t('monitoring.latency.more') : `≤ ${ms(b.le_ms)}`));
    return (
      <div class="mon-latency" key={p.provider} data-provider={p.provider}>
        <h3>{t(`monitoring.providers.${p.provider}`) === `monitoring.providers.${p.provider}` ? p.provider : t(`monitoring.providers.${p.provider}`)}</h3>
        <dl class="mon-stats">
          <Stat name="count" label={t('monitoring.latency.count')} value={fmtNumber(p.count)} />
          <Stat name="p50" label="p50" value={ms(p.p50_ms)} />
          <Stat name="p90" label="p90" value={ms(p.p90_ms)} />
          <Stat name="p99" label="p99" value={ms(p.p99_ms)} />
        </dl>
        <BarChart caption={t('monitoring.latency.caption', { provider: p.provider })} labels={labels} values={counts} color="#6b3fa0">
          <div class="mon-scroll" tabIndex={0} role="region" aria-label={t('monitoring.latency.caption', { provider: p.provider })}>
            <table class="table mon-table">
              <caption class="sr-only">{t('monitoring.latency.caption', { provider: p.provider })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('monitoring.latency.bucket')}</th>
                  <th scope="col">{t('monitoring.latency.callbacks')}</th>
                </tr>
              </thead>
              <tbody>
                {labels.map((l, i) => (
                  <tr key={l}>
                    <th scope="row">{l}</th>
                    <td>{fmtNumber(counts[i])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </BarChart>
      </div>
    );
  });
}

function Failures({ items }) {
  if (!items.length) return <Empty title={t('monitoring.failures.none')} />;
  return (
    <div class="mon-scroll" tabIndex={0} role="region" aria-label={t('monitoring.failures.title')}>
      <table class="table mon-table mon-failures">
        <caption class="sr-only">{t('monitoring.failures.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('monitoring.failures.channel')}</th>
            <th scope="col">{t('monitoring.failures.reason')}</th>
            <th scope="col">{t('monitoring.failures.count')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((f) => (
            <tr key={f.channel + f.reason} data-reason={f.reason}>
              <td>{channelName(f.channel)}</td>
              <td>
                <code>{f.reason}</code>
              </td>
              <td>{fmtNumber(f.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function MonitoringScreen() {
  useLocale();
  const { can } = useSession();
  const [preset, setPreset] = useState('24h');
  const [custom, setCustom] = useState({ from: '', to: '' });
  const [channel, setChannel] = useState('');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const range = rangeOf(preset, custom);
    if (!range) return;
    let live = true;
    setBusy(true);
    api('GET', '/monitoring/summary' + qs({ ...range, channel }))
      .then(
        (d) => live && (setData(d), setError(null)),
        (e) => live && setError(e),
      )
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [preset, custom.from, custom.to, channel, tick]);

  const sum = data ? totals(data.channels || []) : null;
  return (
    <div class="page mon-screen">
      <PageHeader
        title={t('monitoring.title')}
        actions={
          <Button onClick={() => setTick(tick + 1)} busy={busy}>
            {t('monitoring.refresh')}
          </Button>
        }
      />
      <form class="toolbar mon-filters" aria-label={t('monitoring.filters')} onSubmit={(e) => e.preventDefault()}>
        <Select
          id="mon-range"
          label={t('monitoring.range')}
          value={preset}
          onChange={(e) => setPreset(e.currentTarget.value)}
          options={[...Object.keys(RANGES), 'custom'].map((r) => ({ value: r, label: t(`monitoring.ranges.${r}`) }))}
        />
        {preset === 'custom' ? (
          <>
            <Field id="mon-from" type="datetime-local" label={t('monitoring.from')} value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.currentTarget.value })} />
            <Field id="mon-to" type="datetime-local" label={t('monitoring.to')} value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.currentTarget.value })} />
          </>
        ) : null}
        <Select
          id="mon-channel"
          label={t('monitoring.channel')}
          value={channel}
          onChange={(e) => setChannel(e.currentTarget.value)}
          options={[{ value: '', label: t('monitoring.allChannels') }, ...CHANNELS.map((c) => ({ value: c, label: channelName(c) }))]}
        />
      </form>
      {error ? (
        <p role="alert" class="error-text">
          {error.message}
        </p>
      ) : null}
      {!data ? (
        <Spinner />
      ) : (
        <>
          <p class="mon-range-text">{t('monitoring.rangeText', { from: fmtDate(data.from), to: fmtDate(data.to) })}</p>
          <Card title={t('monitoring.overview')} class="mon-overview">
            <dl class="mon-stats mon-stats--wide" data-summary="totals">
              <Stat name="outbound" label={t('monitoring.outbound')} value={fmtNumber(sum.total)} />
              <Stat name="delivered" label={t('monitoring.delivered')} value={fmtNumber(sum.delivered)} />
              <Stat name="failed" label={t('monitoring.failed')} value={fmtNumber(sum.failed)} />
              <Stat name="delivery_rate" label={t('monitoring.deliveryRate')} value={pct(sum.rate)} />
              <Stat name="received" label={t('monitoring.received')} value={fmtNumber(sum.received)} />
              <Stat name="jobs_queued" label={t('monitoring.jobs.queued')} value={fmtNumber(data.jobs.queued)} />
              <Stat name="jobs_running" label={t('monitoring.jobs.running')} value={fmtNumber(data.jobs.running)} />
              <Stat name="jobs_dead" label={t('monitoring.jobs.dead')} value={fmtNumber(data.jobs.dead)} />
            </dl>
          </Card>
          <h2 class="mon-h2">{t('monitoring.byChannel')}</h2>
          {data.channels.length ? (
            <div class="mon-grid">
              {data.channels.map((c) => (
                <ChannelCard c={c} key={c.channel} />
              ))}
            </div>
          ) : (
            <Empty title={t('monitoring.noTraffic')} />
          )}
          <Card title={t('monitoring.failures.title')}>
            <Failures items={data.failures || []} />
          </Card>
          <Card title={t('monitoring.latency.title')}>
            <p class="field-hint">{t('monitoring.latency.help')}</p>
            <Latency items={data.callback_latency || []} />
          </Card>
          <Card title={t('monitoring.jobs.title')}>
            <dl class="mon-stats">
              {Object.entries(data.jobs.dead_by_type || {}).map(([type, n]) => (
                <Stat key={type} name={`dead_${type}`} label={t('monitoring.jobs.deadOfType', { type })} value={fmtNumber(n)} />
              ))}
            </dl>
            {can('jobs.read') ? <DeadJobs onChanged={() => setTick((n) => n + 1)} /> : <p class="field-hint">{t('monitoring.jobs.adminsOnly')}</p>}
          </Card>
        </>
      )}
    </div>
  );
}
