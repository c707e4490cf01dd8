// A channel's badge (sms, whatsapp, email, telegram, instagram, webchat):
// a coloured tag with a short mark, named for screen readers.
import { t } from '../lib/i18n.js';

const MARK = { sms: 'SMS', whatsapp: 'WA', email: '@', telegram: 'TG', instagram: 'IG', webchat: 'Web', voice: 'Tel' };

export function channelName(ch) {
  const k = 'common.channels.' + ch;
  const s = t(k);
  return s === k ? ch : s;
}

export function ChannelIcon({ channel, withName }) {
  const name = channelName(channel);
  return (
    <span class={`chan chan-${channel}`} title={name}>
      <span class="chan-mark" aria-hidden="true">
        {MARK[channel] || '?'}
      </span>
      {withName ? <span class="chan-name">{name}</span> : <span class="sr-only">{name}</span>}
    </span>
  );
}
