// Searchable, paged lists (audit, incidents): newest first, `before=ID`
// walks to older pages; a stack of cursors walks back.
export interface PageState {
  q: string;
  /** `before` of each page shown so far; the last is the current page. */
  stack: number[];
}

export const PAGE_SIZE = 50;

export function firstPage(q: string): PageState {
  return { q, stack: [0] };
}

export function nextPage(s: PageState, items: { id: number }[]): PageState {
  const last = items[items.length - 1];
  if (!last) return s;
  return { q: s.q, stack: [...s.stack, last.id] };
}

export function prevPage(s: PageState): PageState {
  if (s.stack.length <= 1) return s;
  return { q: s.q, stack: s.stack.slice(0, -1) };
}

export function hasPrev(s: PageState): boolean {
  return s.stack.length > 1;
}

export function pageQuery(s: PageState, limit = PAGE_SIZE): string {
  const p = new URLSearchParams();
  if (s.q.trim()) p.set('q', s.q.trim());
  p.set('before', String(s.stack[s.stack.length - 1] ?? 0));
  p.set('limit', String(limit));
  return p.toString();
}

/**
 * Live items that belong on the first page (newer than its newest item),
 * filtered by the search as the console would (case-insensitive substring).
 */
export function liveOnTop<T extends { id: number }>(
  s: PageState,
  page: T[],
  live: T[],
  text: (t: T) => string,
): T[] {
  if (s.stack.length !== 1) return page;
  const newest = page[0]?.id ?? 0;
  const q = s.q.trim().toLowerCase();
  const extra = live.filter((x) => x.id > newest && (!q || text(x).toLowerCase().includes(q)));
  return extra.length ? [...extra, ...page] : page;
}
