import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { orderedFloods } from '../state/derived';
import { age, clock, ports, rate } from '../state/format';
import { can } from '../state/roles';
import type { Flood } from '../state/types';
import { fleet, notify, now, selectEndpoint, session, useTopics } from '../store';
import { RateChart } from './Chart';
import { FloodDialogs, type FloodDialog } from './FloodDialogs';
import { useProgressive } from './progressive';
import { PortFloodTable } from './PortFloods';
import { FleetTiles } from './Tiles';

export function FloodsView() {
  return (
    <>
      <div class="overview">
        <RateChart />
        <FleetTiles />
      </div>
      <FloodTable />
      <PortFloodTable />
    </>
  );
}

function FloodTable() {
  useTopics('floods', 'blocks', 'tick', 'session');
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const [dialog, setDialog] = useState<FloodDialog>(null);
  const [errors, setErrors] = useState<Map<number, string>>(new Map());
  const floods = orderedFloods(fleet);
  const shown = useProgressive(floods.length, 40);
  const acts = can(session?.role, 'block');
  const nowS = Math.floor(now / 1000);
  const toggle = (id: number) => {
    const n = new Set(expanded);
    if (!n.delete(id)) n.add(id);
    setExpanded(n);
  };
  const acknowledge = async (f: Flood) => {
    const e = new Map(errors);
    e.delete(f.id);
    try {
      const r = await api<{ acknowledged_by: string; acknowledged_at: string }>('POST', `/v1/floods/${f.id}/acknowledge`, {});
      const cur = fleet.floods.get(f.id);
      if (cur && !cur.acknowledged_at) {
        fleet.applyEvent('flood', { ...cur, acknowledged_by: r.acknowledged_by, acknowledged_at: r.acknowledged_at });
        notify('floods');
      }
    } catch (err) {
      e.set(f.id, errorText(err));
    }
    setErrors(e);
  };
  return (
    <section class="card" aria-labelledby="floods-title">
      <h2 id="floods-title">
        Active floods <span class="muted">({floods.length})</span>
      </h2>
      {floods.length === 0 ? (
        <p class="empty">No active flood. New ones appear here within a second of detection.</p>
      ) : (
        <div class="table-wrap">
          <div class="ftable" role="table" aria-labelledby="floods-title" aria-rowcount={floods.length + 1}>
            <div role="rowgroup">
              <div role="row" class={'frow head' + (acts ? ' acts' : '')}>
                <span role="columnheader">
                  <span class="sr-only">Details</span>
                </span>
                <span role="columnheader">Source</span>
                <span role="columnheader">Ports</span>
                <span role="columnheader">State</span>
                <span role="columnheader">Severity</span>
                <span role="columnheader">Endpoints</span>
                <span role="columnheader">Started</span>
                <span role="columnheader">Duration</span>
                <span role="columnheader" class="num">
                  Peak
                </span>
                <span role="columnheader">Acked by</span>
                {acts && <span role="columnheader">Actions</span>}
              </div>
            </div>
            <div role="rowgroup">
              {floods.slice(0, shown).map((f) => (
                <FloodRow
                  key={f.id}
                  flood={f}
                  expanded={expanded.has(f.id)}
                  acts={acts}
                  blocked={fleet.blocks.has(f.source)}
                  age={age(nowS - Date.parse(f.started_at) / 1000)}
                  error={errors.get(f.id) ?? ''}
                  onToggle={toggle}
                  onDialog={setDialog}
                  onAck={acknowledge}
                />
              ))}
            </div>
          </div>
        </div>
      )}
      <FloodDialogs dialog={dialog} close={() => setDialog(null)} />
    </section>
  );
}

interface RowProps {
  flood: Flood;
  expanded: boolean;
  acts: boolean;
  /** Its source is blocked globally. */
  blocked: boolean;
  /** How long it has lasted, as shown: the row redraws when this text changes. */
  age: string;
  error: string;
  onToggle: (id: number) => void;
  onDialog: (d: FloodDialog) => void;
  onAck: (f: Flood) => void;
}

/** One flood: re-rendered only when its object, its expansion or the second changes. */
class FloodRow extends Component<RowProps> {
  override shouldComponentUpdate(n: RowProps): boolean {
    const p = this.props;
    return n.flood !== p.flood || n.expanded !== p.expanded || n.acts !== p.acts || n.blocked !== p.blocked || n.age !== p.age || n.error !== p.error;
  }

  override render() {
    const { flood: f, expanded, acts, error } = this.props;
    const nowS = Date.now() / 1000;
    const detailId = `flood-detail-${f.id}`;
    return (
      <>
        <div
          role="row"
          data-testid="flood-row"
          data-flood-id={f.id}
          data-source={f.source}
          data-severity={f.severity}
          data-state={f.state}
          data-last-seen={f.last_seen}
          class={'frow sev-' + f.severity.toLowerCase() + (acts ? ' acts' : '') + (expanded ? ' open' : '')}
        >
          <span role="cell">
            <button
              type="button"
              class="expand"
              data-testid="flood-expand"
              aria-expanded={expanded}
              aria-controls={detailId}
              aria-label={`${expanded ? 'Hide' : 'Show'} endpoints of flood from ${f.source}`}
              onClick={() => this.props.onToggle(f.id)}
            >
              {expanded ? '▾' : '▸'}
            </button>
          </span>
          <span role="cell" class="mono" title={f.source}>
            {f.source}
          </span>
          <span role="cell" class="mono" title={f.ports.join(', ')}>
            {ports(f.ports)}
          </span>
          <span role="cell">
            <span class={'badge st-' + f.state.toLowerCase()}>{f.state}</span>
            {this.props.blocked && (
              <span class="badge global" title="its source is blocked globally (on every endpoint)">
                <span aria-hidden="true">G</span>
                <span class="sr-only">blocked globally</span>
              </span>
            )}
          </span>
          <span role="cell">
            <span class={'badge sv-' + f.severity.toLowerCase()}>{f.severity}</span>
          </span>
          <span role="cell" title={f.endpoints.join(', ')}>
            {f.endpoints.length} <span class="muted">{f.endpoints.slice(0, 2).join(', ')}{f.endpoints.length > 2 ? ', …' : ''}</span>
          </span>
          <span role="cell" class="mono" title={f.started_at}>
            {clock(f.started_at, nowS * 1000)}
          </span>
          <span role="cell" class="mono">{this.props.age}</span>
          <span role="cell" class="num mono">{rate(f.peak_rate)}</span>
          <span role="cell">
            {f.acknowledged_by ? <span title={f.acknowledged_at ?? ''}>✓ {f.acknowledged_by}</span> : <span class="muted">no</span>}
            {f.incidents.length > 0 && (
              <span class="badge warn" title={'escalated: incident ' + f.incidents.map((i) => '#' + i).join(', ')}>
                #{f.incidents[f.incidents.length - 1]}
              </span>
            )}
          </span>
          {acts && (
            <span role="cell">
              <div class="actions">
              <button type="button" class="danger" data-testid="action-block" onClick={() => this.props.onDialog({ kind: 'block', flood: f })}>
                Block globally
              </button>
              <button type="button" data-testid="action-isolate" onClick={() => this.props.onDialog({ kind: 'isolate', flood: f })}>
                Isolate…
              </button>
              <button type="button" data-testid="action-escalate" onClick={() => this.props.onDialog({ kind: 'escalate', flood: f })}>
                Escalate…
              </button>
              {/* Kept once acknowledged (aria-disabled keeps the focus on it). */}
              <button
                type="button"
                data-testid="action-acknowledge"
                aria-disabled={f.acknowledged_at ? 'true' : undefined}
                title={f.acknowledged_at ? `acknowledged by ${f.acknowledged_by} at ${f.acknowledged_at}` : undefined}
                onClick={() => !f.acknowledged_at && this.props.onAck(f)}
              >
                {f.acknowledged_at ? 'Acknowledged' : 'Acknowledge'}
              </button>
              {error && (
                <span class="error small" role="alert">
                  {error}
                </span>
              )}
              </div>
            </span>
          )}
        </div>
        {expanded && (
          <div role="row" class="fdetail" id={detailId} data-testid="flood-detail">
            <span role="cell">
              <Sightings flood={f} nowS={nowS} />
            </span>
          </div>
        )}
      </>
    );
  }
}

function Sightings({ flood: f, nowS }: { flood: Flood; nowS: number }) {
  return (
    <table class="sightings">
      <caption class="sr-only">What each endpoint saw of {f.source}</caption>
      <thead>
        <tr>
          <th scope="col">Endpoint</th>
          <th scope="col">Ports</th>
          <th scope="col" class="num">
            Max / window
          </th>
          <th scope="col" class="num">
            Peak
          </th>
          <th scope="col">First attempt</th>
          <th scope="col">Last seen</th>
          <th scope="col">Action</th>
          <th scope="col">
            <span class="sr-only">Chart</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {f.sightings.map((s) => (
          <tr key={s.endpoint}>
            <td class="mono">{s.endpoint}</td>
            <td class="mono">{ports(s.ports, 5)}</td>
            <td class="num mono">{s.max_count}</td>
            <td class="num mono">{rate(s.peak_rate)}</td>
            <td class="mono">{clock(s.first_attempt_at, nowS * 1000)}</td>
            <td class="mono">{clock(s.last_seen, nowS * 1000)}</td>
            <td>
              <span class={'badge st-' + s.action.toLowerCase()}>{s.action}</span>
            </td>
            <td>
              <button
                type="button"
                class="link"
                onClick={() => {
                  selectEndpoint(s.endpoint);
                  document.getElementById('chart-title')?.scrollIntoView({ block: 'nearest' });
                }}
              >
                chart
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
