// The inbox: the conversation list beside the open conversation on wide
// screens; on phones one or the other (/inbox is the list, /inbox/:id the
// conversation with a way back that keeps the list's filters).
import { useState } from 'preact/hooks';
import { Empty, PageHeader } from '../../components/index.js';
import { t } from '../../lib/i18n.js';
import { Conversation } from './conversation.jsx';
import { ConversationList } from './list.jsx';

export default function Inbox({ params, query }) {
  const id = params && params.id;
  const [readId, setReadId] = useState(null);
  const [changed, setChanged] = useState(null);
  const back = '/inbox' + (location.search || '');
  return (
    <div class={`inbox${id ? ' inbox-open' : ''}`}>
      <PageHeader title={t('inbox.title')} />
      <div class="inbox-panes">
        <ConversationList query={query} openId={id} readId={readId} changed={changed} />
        <div class="inbox-conv">
          {id ? (
            <Conversation key={id} id={id} backHref={back} onRead={(x) => setReadId({ id: x, at: Date.now() })} onChange={setChanged} />
          ) : (
            <Empty title={t('inbox.pick')}>{t('inbox.pick_hint')}</Empty>
          )}
        </div>
      </div>
    </div>
  );
}
