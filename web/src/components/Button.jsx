// Buttons: variant "primary" | "secondary" | "danger" | "ghost"; busy shows a
// spinner and disables it. Every button is at least 44 px tall (tap target).
export function Button({ variant = 'secondary', busy, disabled, type = 'button', class: cls, children, ...rest }) {
  return (
    <button
      type={type}
      class={`btn btn-${variant}${cls ? ' ' + cls : ''}`}
      disabled={disabled || busy}
      aria-busy={busy ? 'true' : undefined}
      {...rest}
    >
      {busy && <span class="spinner spinner-inline" aria-hidden="true" />}
      {children}
    </button>
  );
}
