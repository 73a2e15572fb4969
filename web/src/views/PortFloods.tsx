// Port floods: targets (endpoint, address:port) flooded from many sources,
// live (events `port_flood` / `port_fleet`), with the fleet-wide line above:
// which endpoints, since when, severity, and the prefixes several share; each
// row's severity (the endpoints' rule raised by its own rate against its
// normal, docs/api.md) and its rate as a multiple of its normal.
import { orderedPortFloods } from '../state/fleet';
import { age, rate, timesNormal } from '../state/format';
import type { PortFlood } from '../state/types';
import { fleet, now, useTopics } from '../store';

function pct(r: number): string {
  return `${(r * 100).toFixed(r < 0.1 ? 1 : 0)}%`;
}

function prefixes(f: PortFlood): string {
  if (f.top_prefixes.length === 0) return '–';
  return f.top_prefixes
    .slice(0, 3)
    .map((p) => `${p.prefix} ${pct(p.share)}`)
    .join(', ');
}

export function PortFloodTable() {
  useTopics('port_floods', 'tick');
  const floods = orderedPortFloods(fleet);
  const f = fleet.portFleet;
  const nowS = Math.floor(now / 1000);
  return (
    <section class="card" aria-labelledby="port-floods-title" data-testid="port-floods">
      <h2 id="port-floods-title">
        Port floods <span class="muted">({floods.length})</span>
      </h2>
      {f && f.targets > 0 && (
        <p data-testid="port-fleet" data-severity={f.severity ?? ''}>
          <span class={'badge sv-' + (f.severity ?? 'low').toLowerCase()}>{f.severity}</span>{' '}
          {f.endpoints.length} endpoint{f.endpoints.length === 1 ? '' : 's'} under port floods for{' '}
          {age(nowS - Date.parse(f.since ?? '') / 1000)}, peak {rate(f.peak_rate)}
          {f.shared_prefixes.length > 0 &&
            ' · shared: ' + f.shared_prefixes.map((s) => `${s.prefix} (${s.endpoints.join(', ')})`).join('; ')}
        </p>
      )}
      {floods.length === 0 ? (
        <p class="empty">No port flood: a port flooded from many sources shows here, keyed by its target.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Target</th>
                <th scope="col">Severity</th>
                <th scope="col" class="num">Rate</th>
                <th scope="col" class="num">Sources</th>
                <th scope="col" class="num">Completed</th>
                <th scope="col">Top prefixes</th>
                <th scope="col">Response</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {floods.map((p) => (
                <tr
                  key={p.id}
                  data-testid="port-flood-row"
                  data-endpoint={p.endpoint}
                  data-target={p.target}
                  data-severity={p.severity}
                >
                  <td>{p.endpoint}</td>
                  <td>{p.target}</td>
                  <td>
                    <span class={'badge sv-' + p.severity.toLowerCase()}>{p.severity}</span>
                  </td>
                  <td class="num" title={`peak ${rate(p.peak_rate)}, normal ${rate(p.normal_rate)}`}>
                    {rate(p.rate)}
                    {p.normal_rate > 0 && <span class="muted small"> {timesNormal(p.rate, p.normal_rate)}</span>}
                  </td>
                  <td class="num">{p.distinct_sources.toLocaleString('en')}</td>
                  <td class="num">{pct(p.completion_ratio)}</td>
                  <td>{prefixes(p)}</td>
                  <td>{p.response}</td>
                  <td>{age(nowS - Date.parse(p.started_at) / 1000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
