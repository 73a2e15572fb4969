import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { api, endpointPath, errorText } from '../api';
import { filterEndpoints, orderedEndpoints } from '../state/derived';
import { clock, heartbeatText, rate } from '../state/format';
import { can } from '../state/roles';
import type { Endpoint } from '../state/types';
import { fleet, navigate, now, selectEndpoint, session, useTopics } from '../store';
import { IsolateDialog } from './FloodDialogs';

const PAGE = 200;

export function EndpointsView() {
  useTopics('endpoints', 'tick', 'session');
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(PAGE);
  const [isolate, setIsolate] = useState<string | null>(null);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const all = orderedEndpoints(fleet);
  const list = filterEndpoints(all, filter);
  const acts = can(session?.role, 'isolate');
  const lagging = list.filter((e) => e.lagging).length;
  const release = async (name: string) => {
    const e = new Map(errors);
    e.delete(name);
    try {
      await api('POST', endpointPath(name, 'release'));
    } catch (err) {
      e.set(name, errorText(err));
    }
    setErrors(e);
  };
  return (
    <section class="card" aria-labelledby="ep-title">
      <h2 id="ep-title">
        Endpoints <span class="muted">({list.length} of {all.length}{lagging ? `, ${lagging} lagging` : ''})</span>
      </h2>
      <div class="toolbar">
        <label for="ep-filter">Filter by label</label>
        <input
          id="ep-filter"
          type="search"
          placeholder="dept=payments type=server, or a name"
          value={filter}
          onInput={(e) => {
            setFilter((e.target as HTMLInputElement).value);
            setShown(PAGE);
          }}
        />
      </div>
      <div class="table-wrap">
        <div class="ftable" role="table" aria-labelledby="ep-title">
          <div role="rowgroup">
            <div role="row" class={'frow erow head' + (acts ? ' acts' : '')}>
              <span role="columnheader">Name</span>
              <span role="columnheader">State</span>
              <span role="columnheader">Labels</span>
              <span role="columnheader">Policy</span>
              <span role="columnheader">Applied</span>
              <span role="columnheader" class="num">
                Blocks
              </span>
              <span role="columnheader" class="num">
                Attempts
              </span>
              <span role="columnheader">Last heartbeat</span>
              {acts && <span role="columnheader">Actions</span>}
            </div>
          </div>
          <div role="rowgroup">
            {list.slice(0, shown).map((e) => (
              <EndpointRow
                key={e.name}
                ep={e}
                acts={acts}
                nowS={Math.floor(now / 1000)}
                error={errors.get(e.name) ?? ''}
                onIsolate={setIsolate}
                onRelease={release}
              />
            ))}
          </div>
        </div>
      </div>
      {list.length > shown && (
        <button type="button" onClick={() => setShown(shown + PAGE * 5)}>
          Show more ({list.length - shown} not shown)
        </button>
      )}
      {isolate && <IsolateDialog endpoints={[isolate]} onClose={() => setIsolate(null)} />}
    </section>
  );
}

interface RowProps {
  ep: Endpoint;
  acts: boolean;
  nowS: number;
  error: string;
  onIsolate: (n: string) => void;
  onRelease: (n: string) => void;
}

class EndpointRow extends Component<RowProps> {
  override shouldComponentUpdate(n: RowProps): boolean {
    const p = this.props;
    // The heartbeat age changes every second; redraw at most every 5 s for it.
    return n.ep !== p.ep || n.acts !== p.acts || n.error !== p.error || Math.floor(n.nowS / 5) !== Math.floor(p.nowS / 5);
  }
  override render() {
    const { ep: e, acts, nowS, error } = this.props;
    return (
      <div
        role="row"
        class={'frow erow' + (acts ? ' acts' : '')}
        data-testid="endpoint-row"
        data-endpoint={e.name}
        data-online={String(e.online)}
        data-isolated={String(e.isolated)}
        data-applied-version={e.applied_version}
        data-lagging={String(e.lagging)}
      >
        <span role="cell" class="mono">
          <button
            type="button"
            class="link"
            title="Chart its connection attempts"
            onClick={() => {
              selectEndpoint(e.name);
              navigate('floods');
            }}
          >
            {e.name}
          </button>
        </span>
        <span role="cell">
          <span class={'badge t-' + e.state}>{e.state}</span>
          {e.revoked && <span class="badge warn">revoked</span>}
        </span>
        <span role="cell" class="labels">
          {Object.entries(e.labels).map(([k, v]) => (
            <span key={k} class="label">
              {k}={v}
            </span>
          ))}
        </span>
        <span role="cell">{e.policy}</span>
        <span role="cell" class="mono">
          {e.applied_version}/{e.policy_version}
          {e.lagging && (
            <span class="badge warn" title="applied version is behind the desired one">
              lagging
            </span>
          )}
          {e.rejected.length > 0 && (
            <span class="badge warn" title={e.rejected.join('\n')}>
              {e.rejected.length} rejected
            </span>
          )}
        </span>
        <span role="cell" class="num mono">{e.active_blocks}</span>
        <span role="cell" class="num mono">{rate(e.attempts_per_s)}</span>
        <span role="cell" class="mono" title={e.last_heartbeat ?? 'never'}>
          {heartbeatText(e, nowS * 1000)}
          <span class="sr-only"> at {clock(e.last_heartbeat, nowS * 1000)}</span>
        </span>
        {acts && (
          <span role="cell">
            <div class="actions">
            {e.isolated ? (
              <button type="button" data-testid="endpoint-release" onClick={() => this.props.onRelease(e.name)}>
                Release
              </button>
            ) : (
              <button type="button" data-testid="endpoint-isolate" onClick={() => this.props.onIsolate(e.name)}>
                Isolate…
              </button>
            )}
            {error && (
              <span class="error small" role="alert">
                {error}
              </span>
            )}
            </div>
          </span>
        )}
      </div>
    );
  }
}
