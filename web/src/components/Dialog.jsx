// A modal dialog on the native <dialog> (focus is kept inside, Escape closes):
// <Dialog open title onClose>…</Dialog>. Focus returns to where it was.
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../lib/i18n.js';

let seq = 0;

export function Dialog({ open, title, onClose, children, footer, wide }) {
  const ref = useRef(null);
  const idRef = useRef('dlg' + ++seq);
  const back = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      back.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
      if (back.current && back.current.focus) back.current.focus();
    }
  }, [open]);
  useEffect(() => () => {
    if (back.current && back.current.focus) back.current.focus();
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog${wide ? ' dialog-wide' : ''}`}
      aria-labelledby={idRef.current}
      onCancel={(e) => {
        e.preventDefault();
        onClose && onClose();
      }}
    >
      {open && (
        <div class="dialog-body">
          <div class="dialog-head">
            <h2 id={idRef.current}>{title}</h2>
            <button type="button" class="btn btn-ghost btn-icon" onClick={onClose} aria-label={t('common.close')}>
              <span aria-hidden="true">×</span>
            </button>
          </div>
          <div class="dialog-content">{children}</div>
          {footer && <div class="dialog-foot">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}
