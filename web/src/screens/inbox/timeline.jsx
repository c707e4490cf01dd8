// A conversation's messages: inbound on the left, outbound on the right with
// delivery ticks (and the failure reason in words), media previews (images
// through the signed URL of GET /api/v1/media/{id}), times in the tenant's
// zone.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ChannelIcon, StatusTicks } from '../../components/index.js';
import { api } from '../../lib/api.js';
import { fmtDate, t } from '../../lib/i18n.js';

function MediaItem({ item }) {
  const [media, setMedia] = useState(null);
  const [failed, setFailed] = useState(false);
  const id = item.media_id;
  useEffect(() => {
    if (!id || item.status !== 'stored') return;
    let live = true;
    api('GET', '/media/' + encodeURIComponent(id))
      .then((m) => live && setMedia(m))
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [id, item.status]);
  const type = (media && media.content_type) || item.content_type || '';
  if (!id) return <p class="media-note">{t('inbox.media.attachment', { type: type || '?' })}</p>;
  if (item.status === 'pending') return <p class="media-note">{t('inbox.media.pending')}</p>;
  if (item.status === 'failed' || failed) return <p class="media-note media-failed">{t('inbox.media.failed')}</p>;
  if (!media) return <p class="media-note">{t('common.loading')}</p>;
  if (type.startsWith('image/')) {
    return (
      <a href={media.url} target="_blank" rel="noopener noreferrer" class="media-link">
        <img class="media-img" src={media.url} alt={t('inbox.media.image')} loading="lazy" />
      </a>
    );
  }
  if (type.startsWith('audio/')) return <audio controls src={media.url} class="media-audio" aria-label={t('inbox.media.audio')} />;
  if (type.startsWith('video/')) return <video controls src={media.url} class="media-video" aria-label={t('inbox.media.video')} />;
  return (
    <a href={media.url} target="_blank" rel="noopener noreferrer" class="media-file">
      {t('inbox.media.download', { type })}
    </a>
  );
}

function Bubble({ m, showChannel }) {
  const out = m.direction === 'outbound';
  const failed = m.status === 'failed' || m.status === 'undelivered';
  const reason = m.error && (m.error.text || m.error.code);
  return (
    <li class={`msg ${out ? 'msg-out' : 'msg-in'}${failed ? ' msg-failed' : ''}`} data-message={m.id} data-status={m.status}>
      <div class="msg-bubble">
        {m.subject && <p class="msg-subject">{m.subject}</p>}
        {m.template && !m.body && (
          <p class="msg-template">{t('inbox.template_sent', { name: m.template.name })}</p>
        )}
        {m.body && <p class="msg-body">{m.body}</p>}
        {(m.media || []).map((it, i) => (
          <MediaItem key={it.media_id || it.id || i} item={it} />
        ))}
        <p class="msg-meta">
          {showChannel && <ChannelIcon channel={m.channel} />}
          <time dateTime={m.created_at}>{fmtDate(m.created_at, { dateStyle: 'short', timeStyle: 'short' })}</time>
          {out && <StatusTicks status={m.status} error={m.error} />}
        </p>
        {failed && reason && (
          <p class="msg-error">
            {t('inbox.failed_reason', { reason })}
            {m.error.code && m.error.text ? ` (${m.error.code})` : ''}
          </p>
        )}
      </div>
    </li>
  );
}

export function Timeline({ messages, loading }) {
  const end = useRef(null);
  const last = messages.length ? messages[messages.length - 1].id : null;
  useEffect(() => {
    if (end.current) end.current.scrollIntoView({ block: 'end' });
  }, [last]);
  const channels = new Set(messages.map((m) => m.channel));
  return (
    <div class="timeline" tabIndex={0} aria-label={t('inbox.messages')} role="region">
      {loading && <p class="muted">{t('common.loading')}</p>}
      {!loading && !messages.length && <p class="muted">{t('inbox.no_messages')}</p>}
      <ol class="msg-list">
        {messages.map((m) => (
          <Bubble key={m.id} m={m} showChannel={channels.size > 1} />
        ))}
      </ol>
      <div ref={end} />
    </div>
  );
}

/** Apply a message.status event to a list of messages (monotonic on the server already). */
export function applyStatus(list, d) {
  return list.map((m) =>
    m.id === d.message_id
      ? {
          ...m,
          status: d.status,
          error: d.error || m.error,
          [d.status + '_at']: d.provider_ts || d.received_at || m[d.status + '_at'],
        }
      : m,
  );
}

/** Insert or replace message m, keeping created_at order. */
export function upsert(list, m) {
  const i = list.findIndex((x) => x.id === m.id);
  if (i >= 0) {
    const out = list.slice();
    // Keep the newer status when an older copy arrives late.
    out[i] = { ...list[i], ...m, status: rank(m.status) >= rank(list[i].status) ? m.status : list[i].status };
    return out;
  }
  return [...list, m].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
}

const ORDER = ['queued', 'sent', 'delivered', 'read'];
function rank(s) {
  if (s === 'failed' || s === 'undelivered') return 10;
  const i = ORDER.indexOf(s);
  return i < 0 ? 0 : i;
}
