import { describe, expect, it } from 'vitest';
import { firstPage, hasPrev, liveOnTop, nextPage, pageQuery, prevPage } from './paging';

describe('paging', () => {
  it('walks older with before=<last id> and back with a stack', () => {
    let s = firstPage(' alice ');
    expect(pageQuery(s, 2)).toBe('q=alice&before=0&limit=2');
    s = nextPage(s, [{ id: 90 }, { id: 80 }]);
    expect(pageQuery(s, 2)).toBe('q=alice&before=80&limit=2');
    expect(hasPrev(s)).toBe(true);
    s = prevPage(s);
    expect(pageQuery(s, 2)).toBe('q=alice&before=0&limit=2');
    expect(hasPrev(s)).toBe(false);
    expect(prevPage(s)).toBe(s);
    expect(nextPage(s, [])).toBe(s);
  });

  it('live entries newer than the first page go on top, filtered like the search', () => {
    const page = [{ id: 5, t: 'alice block' }];
    const live = [{ id: 7, t: 'bob release' }, { id: 6, t: 'alice unblock' }, { id: 5, t: 'alice block' }];
    expect(liveOnTop(firstPage('ALICE'), page, live, (x) => x.t).map((x) => x.id)).toEqual([6, 5]);
    expect(liveOnTop(firstPage(''), page, live, (x) => x.t).map((x) => x.id)).toEqual([7, 6, 5]);
    expect(liveOnTop(nextPage(firstPage(''), page), page, live, (x) => x.t)).toBe(page);
  });
});
