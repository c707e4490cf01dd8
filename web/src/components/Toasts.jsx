// Renders the toasts of lib/toast.js: confirmations in a polite live region,
// errors in an assertive one; each can be dismissed.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../lib/i18n.js';
import { dismiss, subscribeToasts } from '../lib/toast.js';

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => subscribeToasts(setItems), []);
  const list = (kind) =>
    items
      .filter((x) => x.kind === kind)
      .map((x) => (
        <div key={x.id} class={`toast toast-${kind}`} data-toast={kind}>
          <div class="toast-text">
            <p>{x.text}</p>
            {x.detail && <p class="toast-detail">{x.detail}</p>}
          </div>
          <button type="button" class="btn btn-ghost btn-icon" onClick={() => dismiss(x.id)} aria-label={t('common.dismiss')}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
      ));
  return (
    <div class="toasts">
      <div role="status" aria-live="polite">
        {list('ok')}
      </div>
      <div role="alert" aria-live="assertive">
        {list('error')}
      </div>
    </div>
  );
}
