// The AI assistant: its knowledge base, the queue of drafts waiting for a
// person, its analytics and its versioned configuration, one page at a time
// (/assistant/:page). Everyone in the tenant reads every page; writing is
// for the roles the API allows (kb.write and assistant.config: owners and
// admins; assistant.drafts: agents too), and controls a role may not use
// are absent.
import { t, useLocale } from '../../lib/i18n.js';
import { Link } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { PageHeader } from '../../components/index.js';
import { KnowledgeBase } from './kb.jsx';
import { Drafts } from './drafts.jsx';
import { Analytics } from './analytics.jsx';
import { Config } from './config.jsx';

export const PAGES = [
  { id: 'kb', perm: 'kb.read', C: KnowledgeBase },
  { id: 'drafts', perm: 'assistant.read', C: Drafts },
  { id: 'analytics', perm: 'assistant.read', C: Analytics },
  { id: 'config', perm: 'assistant.read', C: Config },
];

export default function AssistantScreen({ params, query }) {
  useLocale();
  const { can } = useSession();
  const visible = PAGES.filter((p) => can(p.perm));
  const wanted = params && params.section;
  const current = visible.find((p) => p.id === wanted) || visible[0];
  const unknown = wanted && !PAGES.some((p) => p.id === wanted);
  return (
    <div class="page ast-screen">
      <PageHeader title={t('assistant.title')} />
      <nav class="set-nav" aria-label={t('assistant.pages')}>
        <ul>
          {visible.map((p) => (
            <li key={p.id}>
              <Link href={`/assistant/${p.id}`} class={`set-tab${p === current ? ' active' : ''}`} aria-current={p === current ? 'page' : undefined}>
                {t(`assistant.nav.${p.id}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {unknown ? (
        <p role="alert" class="error-text">
          {t('common.not_found')}
        </p>
      ) : null}
      {current ? <current.C key={current.id} query={query} /> : null}
    </div>
  );
}
