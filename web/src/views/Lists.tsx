import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { clock } from '../state/format';
import { firstPage, hasPrev, liveOnTop, nextPage, pageQuery, prevPage, type PageState } from '../state/paging';
import type { AuditEntry, Incident, ListAnswer } from '../state/types';
import { fleet, now, useTopics } from '../store';

function usePaged<T extends { id: number }>(path: string) {
  const [state, setState] = useState<PageState>(firstPage(''));
  const [query, setQuery] = useState('');
  const [page, setPage] = useState<ListAnswer<T> | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setState(firstPage(query)), 250);
    return () => clearTimeout(t);
  }, [query]);
  useEffect(() => {
    let alive = true;
    api<ListAnswer<T>>('GET', `${path}?${pageQuery(state)}`)
      .then((p) => {
        if (!alive) return;
        setPage(p);
        setError('');
      })
      .catch((e) => alive && setError(errorText(e)));
    return () => {
      alive = false;
    };
  }, [path, state]);
  return { state, setState, query, setQuery, page, error };
}

function Pager<T extends { id: number }>({ p, label }: { p: ReturnType<typeof usePaged<T>>; label: string }) {
  return (
    <div class="toolbar">
      <label for={'search-' + label}>Search {label}</label>
      <input id={'search-' + label} type="search" data-testid="search-input" value={p.query} onInput={(e) => p.setQuery((e.target as HTMLInputElement).value)} />
      <span class="spacer" />
      <button type="button" data-testid="page-prev" disabled={!hasPrev(p.state)} onClick={() => p.setState(prevPage(p.state))}>
        ← Newer
      </button>
      <button
        type="button"
        data-testid="page-next"
        disabled={!p.page?.more}
        onClick={() => p.page && p.setState(nextPage(p.state, p.page.items))}
      >
        Older →
      </button>
    </div>
  );
}

export function IncidentsView() {
  useTopics('incidents', 'tick');
  const p = usePaged<Incident>('/v1/incidents');
  // Live changes (webhook status) replace the page's copy; new ones go on top.
  const live = new Map(fleet.liveIncidents.map((i) => [i.id, i]));
  const page = (p.page?.items ?? []).map((i) => live.get(i.id) ?? i);
  const rows = liveOnTop(p.state, page, fleet.liveIncidents, (i) => `${i.note} ${i.created_by} ${i.webhook_status}`);
  return (
    <section class="card" aria-labelledby="inc-title">
      <h2 id="inc-title">Incidents</h2>
      <Pager p={p} label="incidents" />
      {p.error && (
        <p class="error" role="alert">
          {p.error}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">Flood</th>
              <th scope="col">Opened by</th>
              <th scope="col">When (UTC)</th>
              <th scope="col">Note</th>
              <th scope="col">Webhooks</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <tr key={i.id} data-testid="incident-row">
                <td class="num mono">{i.id}</td>
                <td class="mono">
                  #{i.flood_id} {fleet.floods.get(i.flood_id)?.source ?? ''}
                </td>
                <td>{i.created_by}</td>
                <td class="mono">{clock(i.created_at, now)}</td>
                <td>{i.note}</td>
                <td class={i.webhook_status.startsWith('delivered to') && !i.webhook_status.includes('failed') ? '' : 'warn-text'}>{i.webhook_status}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.page && rows.length === 0 && <p class="empty">Nothing found.</p>}
      </div>
    </section>
  );
}

export function AuditView() {
  useTopics('audit');
  const p = usePaged<AuditEntry>('/v1/audit');
  const rows = liveOnTop(p.state, p.page?.items ?? [], fleet.liveAudit, (a) => `${a.actor} ${a.action} ${a.target} ${a.details}`);
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <Pager p={p} label="audit" />
      {p.error && (
        <p class="error" role="alert">
          {p.error}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">When (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id} data-testid="audit-row">
                <td class="num mono">{a.id}</td>
                <td class="mono" title={a.at}>
                  {clock(a.at, now)}
                </td>
                <td>{a.actor}</td>
                <td>{a.action}</td>
                <td class="mono">{a.target}</td>
                <td>{a.details}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.page && rows.length === 0 && <p class="empty">Nothing found.</p>}
      </div>
    </section>
  );
}
