import { errorText, logout } from '../api';
import { fleetStatus } from '../state/derived';
import { clock, duration } from '../state/format';
import { conn, endSession, fleet, loadError, navigate, now, route, session, useTopics, type Route } from '../store';

export function Header() {
  useTopics('floods', 'endpoints', 'blocks', 'conn', 'tick', 'session');
  const s = fleetStatus(fleet);
  const sinceMs = s.since ? Date.parse(s.since) : 0;
  const out = async () => {
    try {
      await logout();
    } catch (e) {
      console.warn(errorText(e));
    }
    endSession();
  };
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <span class="brand">SYN Guard</span>
      <div class={'status ' + (s.underAttack ? 'attack' : 'calm')} role="status" aria-live="polite" data-testid="fleet-status">
        {s.underAttack ? (
          <>
            <strong>Under attack</strong>
            <span>
              {s.activeFloods} flood{s.activeFloods === 1 ? '' : 's'}
              {s.worstSeverity ? ` (worst ${s.worstSeverity})` : ''}
            </span>
            <span>{s.blockingEndpoints} endpoints blocking</span>
            {fleet.blocks.size > 0 && <span>{fleet.blocks.size} blocked globally</span>}
            <span title={s.since ?? ''}>
              since {clock(s.since, now)} UTC, {duration((now - sinceMs) / 1000)}
            </span>
            {s.unacknowledged > 0 && <span>{s.unacknowledged} not acknowledged</span>}
          </>
        ) : (
          <>
            <strong>All quiet</strong>
            <span>no active flood</span>
          </>
        )}
      </div>
      <span class="spacer" />
      {loadError && (
        <span class="error small" role="alert">
          lists: {loadError}
        </span>
      )}
      <span class={'live ' + conn} data-testid="live-indicator" data-state={conn} role="status" aria-label={'stream ' + conn}>
        {conn}
      </span>
      <span class="who" data-testid="whoami">
        {session ? `${session.name} (${session.role})` : ''}
      </span>
      <button type="button" class="link" onClick={out}>
        Sign out
      </button>
    </header>
  );
}

const NAV: [Route, string][] = [
  ['floods', 'Floods'],
  ['endpoints', 'Endpoints'],
  ['blocks', 'Global blocks'],
  ['policies', 'Policies'],
  ['incidents', 'Incidents'],
  ['audit', 'Audit'],
];

export function Nav() {
  useTopics('route', 'floods', 'blocks');
  return (
    <nav class="tabs" aria-label="Views">
      {NAV.map(([r, label]) => (
        <a
          key={r}
          href={'/' + r}
          data-testid={'nav-' + r}
          aria-current={route === r ? 'page' : undefined}
          onClick={(e) => {
            if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
            e.preventDefault();
            navigate(r);
          }}
        >
          {label}
          {r === 'floods' && fleet.floods.size > 0 && <span class="pill">{fleet.floods.size}</span>}
          {r === 'blocks' && fleet.blocks.size > 0 && <span class="pill quiet">{fleet.blocks.size}</span>}
        </a>
      ))}
    </nav>
  );
}
