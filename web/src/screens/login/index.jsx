// The login screen: e-mail and password (and a tenant id when the e-mail
// belongs to several tenants: the API answers tenant_required). Errors are
// the API's own message, next to the form and as a toast.
import { useRef, useState } from 'preact/hooks';
import { Button, Field } from '../../components/index.js';
import { LOCALES, getLocale, setLocale, t } from '../../lib/i18n.js';
import { navigate } from '../../lib/router.js';
import { login } from '../../lib/session.js';
import { toast } from '../../lib/toast.js';

export default function Login({ next }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [needTenant, setNeedTenant] = useState(false);
  const form = useRef(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(form.current);
    setBusy(true);
    setError(null);
    try {
      await login(String(f.get('email')).trim(), String(f.get('password')), needTenant ? String(f.get('tenant') || '').trim() : undefined);
      toast.ok(t('login.welcome'));
      navigate(next || '/inbox', { replace: true });
    } catch (err) {
      if (err.code === 'tenant_required') setNeedTenant(true);
      setError(err.message);
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="center-page" id="main">
      <div class="login-card card">
        <h1 class="login-title">{t('login.title')}</h1>
        <p class="muted">{t('login.subtitle')}</p>
        <form ref={form} onSubmit={submit} noValidate={false}>
          <Field label={t('login.email')} name="email" type="email" autoComplete="username" required autoFocus />
          <Field label={t('login.password')} name="password" type="password" autoComplete="current-password" required />
          {needTenant && <Field label={t('login.tenant')} name="tenant" hint={t('login.tenant_hint')} required />}
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <Button type="submit" variant="primary" busy={busy} class="btn-block">
            {t('login.submit')}
          </Button>
        </form>
        <div class="login-locale">
          <label for="login-locale">{t('common.language')}</label>
          <select id="login-locale" value={getLocale()} onChange={(e) => setLocale(e.currentTarget.value)}>
            {LOCALES.map((l) => (
              <option key={l.code} value={l.code}>
                {l.name}
              </option>
            ))}
          </select>
        </div>
      </div>
    </main>
  );
}
