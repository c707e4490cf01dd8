// An outbound message's delivery state as ticks (queued: clock, sent: one
// tick, delivered: two, read: two in blue, failed/undelivered: a warning with
// the reason); the words are there for screen readers and the tooltip.
import { t } from '../lib/i18n.js';

const GLYPH = { queued: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!', undelivered: '!', received: '' };

export function StatusTicks({ status, error }) {
  const label = t('common.status.' + status);
  const reason = error && (error.text || error.code);
  const full = reason ? `${label}: ${reason}${error.text && error.code ? ` (${error.code})` : ''}` : label;
  return (
    <span class={`ticks ticks-${status}`} data-status={status} title={full}>
      <span aria-hidden="true">{GLYPH[status] ?? ''}</span>
      <span class="sr-only">{full}</span>
    </span>
  );
}
