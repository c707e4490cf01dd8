// Settings: channel accounts, team members and roles, API keys, opt-out
// keywords and messaging settings, and the audit log, one section at a time
// (/settings/:section). A section shows only when the role may read it
// (the API enforces the same: docs/permissions.md); inside, actions the role
// may not take are absent and forms are read-only.
import { t, useLocale } from '../../lib/i18n.js';
import { Link } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { PageHeader } from '../../components/index.js';
import { Channels } from './channels.jsx';
import { Team } from './team.jsx';
import { ApiKeys } from './apikeys.jsx';
import { Compliance } from './compliance.jsx';
import { Audit } from './audit.jsx';

export const SECTIONS = [
  { id: 'channels', perm: 'channels.list', C: Channels },
  { id: 'team', perm: 'users.list', C: Team },
  { id: 'apikeys', perm: 'apikeys.list', C: ApiKeys },
  { id: 'compliance', perm: 'compliance.read', C: Compliance },
  { id: 'audit', perm: 'audit.read', C: Audit },
];

export default function SettingsScreen({ params }) {
  useLocale();
  const { can } = useSession();
  const visible = SECTIONS.filter((s) => can(s.perm));
  const wanted = params && params.section;
  const current = visible.find((s) => s.id === wanted) || visible[0];
  const forbidden = wanted && !visible.some((s) => s.id === wanted) && SECTIONS.some((s) => s.id === wanted);
  return (
    <div class="page set-screen">
      <PageHeader title={t('settings.title')} />
      <nav class="set-nav" aria-label={t('settings.sections')}>
        <ul>
          {visible.map((s) => (
            <li key={s.id}>
              <Link href={`/settings/${s.id}`} class={`set-tab${s === current ? ' active' : ''}`} aria-current={s === current ? 'page' : undefined}>
                {t(`settings.nav.${s.id}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {forbidden ? (
        <p role="alert" class="error-text">
          {t('settings.forbidden')}
        </p>
      ) : null}
      {current ? <current.C key={current.id} /> : <p>{t('settings.nothing')}</p>}
    </div>
  );
}
