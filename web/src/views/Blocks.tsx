import { useEffect, useState } from 'preact/hooks';
import { api, blockPath, errorText } from '../api';
import { clock, since, ttlLeft } from '../state/format';
import { can } from '../state/roles';
import type { Block, BlockDetail } from '../state/types';
import { fleet, now, session, useTopics } from '../store';
import { TTL_CHOICES } from './FloodDialogs';

export function BlocksView() {
  useTopics('blocks', 'tick', 'session');
  const [open, setOpen] = useState<string | null>(null);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const acts = can(session?.role, 'unblock');
  const blocks = [...fleet.blocks.values()].sort((a, b) => (a.added_at < b.added_at ? 1 : a.added_at > b.added_at ? -1 : a.source < b.source ? -1 : 1));
  const unblock = async (source: string) => {
    const e = new Map(errors);
    e.delete(source);
    try {
      await api('DELETE', blockPath(source));
    } catch (err) {
      e.set(source, errorText(err));
    }
    setErrors(e);
  };
  return (
    <section class="card" aria-labelledby="blocks-title">
      <h2 id="blocks-title">
        Global blocks <span class="muted">({blocks.length})</span>
      </h2>
      {acts && <AddBlock />}
      {blocks.length === 0 ? (
        <p class="empty">No global block.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">Added by</th>
                <th scope="col">When (UTC)</th>
                <th scope="col">Reason</th>
                <th scope="col">Expires in</th>
                <th scope="col">Applied</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {blocks.map((b) => (
                <BlockRow
                  key={b.source}
                  b={b}
                  open={open === b.source}
                  acts={acts}
                  error={errors.get(b.source) ?? ''}
                  onToggle={() => setOpen(open === b.source ? null : b.source)}
                  onUnblock={() => unblock(b.source)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function BlockRow(p: { b: Block; open: boolean; acts: boolean; error: string; onToggle: () => void; onUnblock: () => void }) {
  const b = p.b;
  const total = b.acked + b.pending + b.rejected;
  return (
    <>
      <tr data-testid="block-row" data-source={b.source} data-acked={b.acked} data-pending={b.pending}>
        <td class="mono">{b.source}</td>
        <td>{b.added_by}</td>
        <td class="mono" title={b.added_at}>
          {clock(b.added_at, now)} <span class="muted">({since(b.added_at, now)} ago)</span>
        </td>
        <td>{b.reason || <span class="muted">–</span>}</td>
        <td class="mono" title={b.expires_at ?? 'permanent'}>
          {ttlLeft(b.expires_at, now)}
        </td>
        <td>
          <span class={b.pending > 0 ? 'badge st-detect' : 'badge ok'}>
            {b.acked}/{total} applied
          </span>
          {b.pending > 0 && <span class="muted"> {b.pending} pending</span>}
          {b.rejected > 0 && <span class="badge warn">{b.rejected} rejected</span>}
          <button type="button" class="link" aria-expanded={p.open} onClick={p.onToggle}>
            {p.open ? 'hide' : 'which'}
          </button>
        </td>
        <td>
          <div class="actions">
          {p.acts && (
            <button type="button" data-testid="block-unblock" onClick={p.onUnblock}>
              Unblock
            </button>
          )}
          {p.error && (
            <span class="error small" role="alert">
              {p.error}
            </span>
          )}
          </div>
        </td>
      </tr>
      {p.open && (
        <tr class="detail">
          <td colSpan={7}>
            <BlockDetails source={b.source} version={b.acked * 100000 + b.pending} />
          </td>
        </tr>
      )}
    </>
  );
}

function BlockDetails({ source, version }: { source: string; version: number }) {
  const [d, setD] = useState<BlockDetail | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let alive = true;
    api<BlockDetail>('GET', blockPath(source))
      .then((x) => alive && (setD(x), setError('')))
      .catch((e) => alive && setError(errorText(e)));
    return () => {
      alive = false;
    };
  }, [source, version]);
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!d) return <p class="muted">Loading…</p>;
  return (
    <dl class="block-detail">
      <dt>Applied ({d.applied_endpoints.length})</dt>
      <dd class="mono">
        {d.applied_endpoints.slice(0, 40).join(', ') || '–'}
        {d.applied_endpoints.length > 40 && <span class="muted"> and {d.applied_endpoints.length - 40} more</span>}
      </dd>
      <dt>Pending ({d.pending_endpoints.length})</dt>
      <dd class="mono">{d.pending_endpoints.join(', ') || '–'}</dd>
      <dt>Rejected ({d.rejected_endpoints.length})</dt>
      <dd class="mono">{d.rejected_endpoints.map((r) => `${r.endpoint}: ${r.reason}`).join('; ') || '–'}</dd>
    </dl>
  );
}

function AddBlock() {
  const [source, setSource] = useState('');
  const [ttl, setTtl] = useState('1h');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await api('POST', '/v1/blocks', { source: source.trim(), ...(ttl ? { ttl } : {}), ...(reason ? { reason } : {}) });
      setSource('');
      setReason('');
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  return (
    <form class="toolbar" onSubmit={submit} aria-label="Block a source on every endpoint">
      <label for="add-source">Source</label>
      <input id="add-source" class="mono" required placeholder="203.0.113.7 or 198.51.100.0/24" value={source} onInput={(e) => setSource((e.target as HTMLInputElement).value)} />
      <label for="add-ttl">TTL</label>
      <select id="add-ttl" value={ttl} onChange={(e) => setTtl((e.target as HTMLSelectElement).value)}>
        {TTL_CHOICES.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      <label for="add-reason">Reason</label>
      <input id="add-reason" maxLength={256} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="submit" class="danger" disabled={busy}>
        Block globally
      </button>
      {error && (
        <span class="error small" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
