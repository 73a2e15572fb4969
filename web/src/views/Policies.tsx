import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ENFORCERS, formatSelector, formOf, policyBody, type PolicyForm } from '../state/policy';
import { can } from '../state/roles';
import type { Policy, PolicyPreview } from '../state/types';
import { fleet, session, useTopics } from '../store';

export function PoliciesView() {
  useTopics('policies', 'session');
  const [editing, setEditing] = useState<Policy | 'new' | null>(null);
  const [error, setError] = useState('');
  const admin = can(session?.role, 'policy_edit');
  const list = [...fleet.policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const remove = async (name: string) => {
    setError('');
    let what = 'Its endpoints fall back to the next matching policy.';
    try {
      const pv = await api<PolicyPreview>('POST', '/v1/policy-preview', { name, delete: true });
      const names = pv.affected.slice(0, 10).map((a) => `${a.endpoint} → ${a.to}`);
      what = `It changes ${pv.affected.length} endpoint${pv.affected.length === 1 ? '' : 's'}${names.length ? ': ' + names.join(', ') + (pv.affected.length > 10 ? ', …' : '') : ''}.`;
    } catch {
      /* the confirmation goes without the preview */
    }
    if (!confirm(`Delete policy ${name}? ${what}`)) return;
    try {
      await api('DELETE', '/v1/policies/' + encodeURIComponent(name));
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <section class="card" aria-labelledby="pol-title">
        <h2 id="pol-title">
          Policies <span class="muted">({list.length}; endpoints no policy matches run the defaults)</span>
        </h2>
        {admin && (
          <button type="button" class="primary" onClick={() => setEditing('new')}>
            New policy
          </button>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Selector</th>
                <th scope="col" class="num">
                  Threshold
                </th>
                <th scope="col">Window</th>
                <th scope="col">Block for</th>
                <th scope="col">Enforcer</th>
                <th scope="col" class="num">
                  Endpoints
                </th>
                <th scope="col" class="num">
                  Revision
                </th>
                {admin && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.name} data-testid="policy-row" data-policy={p.name}>
                  <td>{p.name}</td>
                  <td class="mono">{formatSelector(p.selector) || <span class="muted">every endpoint</span>}</td>
                  <td class="num mono">{p.flood_threshold}</td>
                  <td class="mono">{p.flood_window}</td>
                  <td class="mono">{p.block_duration}</td>
                  <td>{p.enforcer}</td>
                  <td class="num mono">{countUsing(p.name)}</td>
                  <td class="num mono">{p.revision}</td>
                  {admin && (
                    <td>
                      <div class="actions">
                      <button type="button" data-testid="policy-edit" onClick={() => setEditing(p)}>
                        Edit
                      </button>
                      <button type="button" onClick={() => remove(p.name)}>
                        Delete
                      </button>
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {editing && admin && (
        <PolicyEditor key={editing === 'new' ? '' : editing.name} policy={editing === 'new' ? null : editing} onDone={() => setEditing(null)} />
      )}
    </>
  );
}

function countUsing(name: string): number {
  let n = 0;
  for (const e of fleet.endpoints.values()) if (e.policy === name) n++;
  return n;
}

function PolicyEditor({ policy, onDone }: { policy: Policy | null; onDone: () => void }) {
  const [form, setForm] = useState<PolicyForm>(formOf(policy));
  const [preview, setPreview] = useState<PolicyPreview | null>(null);
  const [previewFor, setPreviewFor] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const body = policyBody(form);
  const bodyKey = typeof body === 'string' ? '' : JSON.stringify(body);
  const set = (k: keyof PolicyForm) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  const runPreview = async () => {
    if (typeof body === 'string') {
      setError(body);
      return;
    }
    setError('');
    try {
      setPreview(await api<PolicyPreview>('POST', '/v1/policy-preview', body));
      setPreviewFor(bodyKey);
    } catch (e) {
      setError(errorText(e));
    }
  };
  // Preview what the change would do as the operator types (debounced).
  useEffect(() => {
    if (!bodyKey) return;
    const t = setTimeout(() => void runPreview(), 400);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bodyKey]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (typeof body === 'string') {
      setError(body);
      return;
    }
    setBusy(true);
    setError('');
    try {
      const { name, ...rest } = body;
      await api('PUT', '/v1/policies/' + encodeURIComponent(name), rest);
      onDone();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="edit-title">
      <h2 id="edit-title">{policy ? `Edit policy ${policy.name}` : 'New policy'}</h2>
      <form class="policy-form" data-testid="policy-form" onSubmit={save}>
        <div class="grid-form">
          <label for="pf-name">Name</label>
          <input id="pf-name" ref={policy ? undefined : first} readOnly={!!policy} value={form.name} onInput={set('name')} required />
          <label for="pf-selector">Selector (org, type, dept, name; empty: every endpoint)</label>
          <input
            id="pf-selector"
            ref={policy ? first : undefined}
            data-testid="policy-selector"
            class="mono"
            placeholder="dept=payments, type=server"
            value={form.selector}
            onInput={set('selector')}
          />
          <label for="pf-threshold">Flood threshold (attempts per window)</label>
          <input id="pf-threshold" data-testid="policy-threshold" type="number" min={1} max={1000000} value={form.flood_threshold} onInput={set('flood_threshold')} />
          <label for="pf-window">Flood window</label>
          <input id="pf-window" data-testid="policy-window" class="mono" value={form.flood_window} onInput={set('flood_window')} />
          <label for="pf-duration">Block duration</label>
          <input id="pf-duration" data-testid="policy-duration" class="mono" value={form.block_duration} onInput={set('block_duration')} />
          <label for="pf-enforcer">Enforcer</label>
          <select id="pf-enforcer" data-testid="policy-enforcer" value={form.enforcer} onChange={set('enforcer')}>
            {ENFORCERS.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="preview" aria-live="polite">
          {preview && previewFor === bodyKey ? (
            <>
              <strong>
                Saving changes {preview.affected.length} endpoint{preview.affected.length === 1 ? '' : 's'}
              </strong>{' '}
              <span class="muted">({preview.unchanged} unchanged)</span>
              {preview.affected.length > 0 && (
                <ul class="affected">
                  {preview.affected.slice(0, 50).map((a) => (
                    <li key={a.endpoint} class="mono">
                      {a.endpoint}: {a.from === a.to ? `${a.to} (new values)` : `${a.from} → ${a.to}`}
                    </li>
                  ))}
                  {preview.affected.length > 50 && <li class="muted">and {preview.affected.length - 50} more</li>}
                </ul>
              )}
            </>
          ) : (
            <span class="muted">{typeof body === 'string' ? body : 'Preview shows which endpoints a save would change.'}</span>
          )}
        </div>
        <div class="buttons">
          <button type="button" onClick={onDone}>
            Cancel
          </button>
          <button type="button" data-testid="policy-preview" onClick={runPreview}>
            Preview
          </button>
          <button type="submit" class="primary" data-testid="policy-save" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </section>
  );
}
