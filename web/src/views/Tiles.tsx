import { Component } from 'preact';
import { fleetStatus, orderedEndpoints } from '../state/derived';
import { rate } from '../state/format';
import { ENDPOINT_STATES, type Endpoint } from '../state/types';
import { endpointRate, fleet, selectEndpoint, useTopics } from '../store';
import { useProgressive } from './progressive';

/** Every endpoint as a tile coloured by state; arrow keys move between tiles. */
export function FleetTiles() {
  useTopics('endpoints', 'select');
  const list = orderedEndpoints(fleet);
  const shown = useProgressive(list.length, 250);
  const s = fleetStatus(fleet);
  const selected = endpointRate?.endpoint ?? null;
  const onKey = (e: KeyboardEvent) => {
    const grid = e.currentTarget as HTMLElement;
    const tiles = grid.children;
    const cur = document.activeElement as HTMLElement | null;
    const i = Array.prototype.indexOf.call(tiles, cur);
    if (i < 0) return;
    const first = tiles[0] as HTMLElement;
    let cols = 0;
    while (cols < tiles.length && (tiles[cols] as HTMLElement).offsetTop === first.offsetTop) cols++;
    cols = Math.max(1, cols);
    const step: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -i, End: tiles.length - 1 - i };
    const d = step[e.key];
    if (d === undefined) return;
    e.preventDefault();
    const next = tiles[Math.min(tiles.length - 1, Math.max(0, i + d))] as HTMLElement;
    cur!.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  };
  return (
    <section class="card tiles-card" aria-labelledby="tiles-title">
      <h2 id="tiles-title">
        Fleet <span class="muted">({list.length})</span>
      </h2>
      <ul class="legend" aria-label="Endpoints by state">
        {ENDPOINT_STATES.map((st) => (
          <li key={st}>
            <span class={'swatch t-' + st} aria-hidden="true" />
            {st} {s.byState[st]}
          </li>
        ))}
      </ul>
      <div class="tiles" role="group" aria-label="Endpoints, coloured by state; press Enter to chart one" onKeyDown={onKey}>
        {list.slice(0, shown).map((e, i) => (
          <Tile key={e.name} ep={e} first={i === 0} selected={e.name === selected} />
        ))}
      </div>
    </section>
  );
}

interface TileProps {
  ep: Endpoint;
  first: boolean;
  selected: boolean;
}

class Tile extends Component<TileProps> {
  override shouldComponentUpdate(n: TileProps): boolean {
    return n.ep !== this.props.ep || n.selected !== this.props.selected || n.first !== this.props.first;
  }
  override render() {
    const { ep, first, selected } = this.props;
    const label = `${ep.name}: ${ep.state}, ${rate(ep.attempts_per_s)}`;
    return (
      <button
        type="button"
        class={'tile t-' + ep.state + (selected ? ' sel' : '')}
        data-testid="endpoint-tile"
        data-endpoint={ep.name}
        data-state={ep.state}
        tabIndex={first ? 0 : -1}
        title={label}
        aria-label={label}
        aria-pressed={selected}
        onClick={() => selectEndpoint(selected ? null : ep.name)}
      />
    );
  }
}
