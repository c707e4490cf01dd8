// Cursor pagination: "Previous" goes back through the cursors seen, "Next"
// follows next_cursor. The caller keeps the stack: usePages().
import { useState } from 'preact/hooks';
import { t } from '../lib/i18n.js';
import { Button } from './Button.jsx';

/** {cursor, page, next(c), prev(), reset()} for a cursor-paginated list. */
export function usePages() {
  const [stack, setStack] = useState([null]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    next: (c) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}

export function Pagination({ pages, nextCursor, label }) {
  if (pages.page === 1 && !nextCursor) return null;
  return (
    <nav class="pagination" aria-label={label || t('common.pagination')}>
      <Button onClick={pages.prev} disabled={pages.page === 1}>
        {t('common.previous')}
      </Button>
      <span class="pagination-page">{t('common.page', { page: pages.page })}</span>
      <Button onClick={() => pages.next(nextCursor)} disabled={!nextCursor}>
        {t('common.next')}
      </Button>
    </nav>
  );
}
