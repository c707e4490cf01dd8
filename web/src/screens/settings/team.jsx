// Settings › Team: the tenant's members and their roles (/api/v1/users).
// Everyone may see the list; adding, changing a role and removing are for
// the roles the API allows (users.create, users.update, users.delete). Only
// an owner may grant owner, and nobody grants a role above their own.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api.js';
import { t, fmtDate } from '../../lib/i18n.js';
import { useSession } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';
import { Button, Card, Dialog, Field, Select, Spinner } from '../../components/index.js';

export const ROLES = ['viewer', 'agent', 'admin', 'owner'];
const RANK = { viewer: 0, agent: 1, admin: 2, owner: 3 };

/* The roles the signed-in user may grant. */
export function grantable(myRole) {
  return ROLES.filter((r) => RANK[r] <= RANK[myRole] && (r !== 'owner' || myRole === 'owner'));
}

function AddMember({ onAdded, onCancel, roles }) {
  const [form, setForm] = useState({ email: '', name: '', role: 'agent', password: '' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const set = (k) => (e) => {
    const v = e.currentTarget.value;
    setForm((f) => ({ ...f, [k]: v }));
  };
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const body = { email: form.email.trim(), role: form.role, password: form.password };
      if (form.name.trim()) body.name = form.name.trim();
      const u = await api('POST', '/users', body);
      toast.ok(t('settings.team.added', { email: u.email }));
      onAdded();
    } catch (err) {
      setProblem(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="set-form" onSubmit={submit} aria-labelledby="set-team-add">
      <h3 id="set-team-add">{t('settings.team.add')}</h3>
      <Field id="set-user-email" type="email" label={t('settings.team.email')} required autocomplete="off" value={form.email} onInput={set('email')} />
      <Field id="set-user-name" label={t('settings.team.name')} value={form.name} onInput={set('name')} />
      <Select id="set-user-role" label={t('settings.team.role')} value={form.role} onChange={set('role')} options={roles.map((r) => ({ value: r, label: t(`common.roles.${r}`) }))} />
      <Field
        id="set-user-password"
        type="password"
        autocomplete="new-password"
        label={t('settings.team.password')}
        hint={t('settings.team.passwordHint')}
        required
        value={form.password}
        onInput={set('password')}
      />
      {problem ? (
        <p role="alert" class="error-text">
          {problem}
        </p>
      ) : null}
      <div class="set-actions">
        <Button type="submit" variant="primary" busy={busy}>
          {t('settings.team.addButton')}
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          {t('settings.cancel')}
        </Button>
      </div>
    </form>
  );
}

function Member({ u, me, roles, onChanged }) {
  const { can } = useSession();
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const mayChange = can('users.update') && (u.role !== 'owner' || me.role === 'owner');

  async function setRole(role) {
    setBusy(true);
    try {
      await api('PATCH', `/users/${u.id}`, { role });
      toast.ok(t('settings.team.roleChanged', { email: u.email, role: t(`common.roles.${role}`) }));
      onChanged();
    } catch (e) {
      toast.error(e);
      onChanged();
    } finally {
      setBusy(false);
    }
  }
  async function remove() {
    setBusy(true);
    try {
      await api('DELETE', `/users/${u.id}`);
      toast.ok(t('settings.team.removed', { email: u.email }));
      setConfirm(false);
      onChanged();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <tr data-user={u.id}>
      <th scope="row">
        <span class="set-strong">{u.name || u.email}</span>
        {u.name ? <span class="set-muted set-block">{u.email}</span> : null}
      </th>
      <td>
        {mayChange ? (
          <>
            <label class="sr-only" for={`set-role-${u.id}`}>
              {t('settings.team.roleOf', { email: u.email })}
            </label>
            <select id={`set-role-${u.id}`} value={u.role} disabled={busy} onChange={(e) => setRole(e.currentTarget.value)}>
              {(roles.includes(u.role) ? roles : [...roles, u.role]).map((r) => (
                <option key={r} value={r}>
                  {t(`common.roles.${r}`)}
                </option>
              ))}
            </select>
          </>
        ) : (
          t(`common.roles.${u.role}`)
        )}
      </td>
      <td class="set-opt">{fmtDate(u.created_at, { dateStyle: 'medium' })}</td>
      {can('users.delete') ? (
        <td>
          {me.user && me.user.id === u.id ? null : (
            <Button variant="danger" disabled={busy} onClick={() => setConfirm(true)} aria-label={t('settings.team.removeOf', { email: u.email })}>
              {t('settings.team.remove')}
            </Button>
          )}
          <Dialog
            open={confirm}
            title={t('settings.team.removeTitle')}
            onClose={() => setConfirm(false)}
            footer={
              <>
                <Button onClick={() => setConfirm(false)}>{t('settings.cancel')}</Button>
                <Button variant="danger" busy={busy} onClick={remove}>
                  {t('settings.team.remove')}
                </Button>
              </>
            }
          >
            <p>{t('settings.team.removeText', { email: u.email })}</p>
          </Dialog>
        </td>
      ) : null}
    </tr>
  );
}

export function Team() {
  const session = useSession();
  const { can } = session;
  const [users, setUsers] = useState(null);
  const [adding, setAdding] = useState(false);
  const roles = grantable(session.role);

  async function load() {
    try {
      const r = await api('GET', '/users');
      setUsers(r.data || []);
    } catch (e) {
      toast.error(e);
      setUsers([]);
    }
  }
  useEffect(() => {
    load();
  }, []);

  return (
    <Card
      title={t('settings.team.title')}
      actions={
        can('users.create') && !adding ? (
          <Button variant="primary" onClick={() => setAdding(true)}>
            {t('settings.team.add')}
          </Button>
        ) : null
      }
    >
      {adding ? (
        <AddMember
          roles={roles}
          onCancel={() => setAdding(false)}
          onAdded={() => {
            setAdding(false);
            load();
          }}
        />
      ) : null}
      {users === null ? (
        <Spinner />
      ) : (
        <div class="set-scroll" tabIndex={0} role="region" aria-label={t('settings.team.title')}>
          <table class="table set-table">
            <caption class="sr-only">{t('settings.team.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('settings.team.member')}</th>
                <th scope="col">{t('settings.team.role')}</th>
                <th scope="col" class="set-opt">
                  {t('settings.team.since')}
                </th>
                {can('users.delete') ? (
                  <th scope="col">
                    <span class="sr-only">{t('settings.actions')}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <Member key={u.id} u={u} me={session} roles={roles} onChanged={load} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="field-hint">{t('settings.team.rolesHelp')}</p>
    </Card>
  );
}
