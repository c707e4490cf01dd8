// Page furniture: PageHeader (the screen's h1 and its actions), Card, Empty
// (nothing to show, with an optional action) and Spinner (a live status).
import { t } from '../lib/i18n.js';

export function PageHeader({ title, actions, children }) {
  return (
    <div class="page-header">
      <div class="page-title">
        <h1>{title}</h1>
        {children}
      </div>
      {actions && <div class="page-actions">{actions}</div>}
    </div>
  );
}

export function Card({ title, children, class: cls, headingLevel = 2, actions }) {
  const H = 'h' + headingLevel;
  return (
    <section class={`card${cls ? ' ' + cls : ''}`}>
      {(title || actions) && (
        <div class="card-head">
          {title && <H class="card-title">{title}</H>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function Empty({ title, children, action }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="empty-text">{children}</p>}
      {action}
    </div>
  );
}

export function Spinner({ label }) {
  return (
    <div class="spinner-wrap" role="status">
      <span class="spinner" aria-hidden="true" />
      <span class="spinner-label">{label || t('common.loading')}</span>
    </div>
  );
}

/** Text only screen readers hear. */
export function VisuallyHidden({ children }) {
  return <span class="sr-only">{children}</span>;
}
