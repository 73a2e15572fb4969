import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { axisTimes, clock } from '../state/format';
import type { RateSeries } from '../state/timeline';
import type { MarkKind } from '../state/types';
import { endpointRate, fleetRate, now, selectEndpoint, useTopics } from '../store';

const MARK_VAR: Record<MarkKind, string> = {
  start: '--muted',
  detect: '--detecting',
  block: '--blocking',
  end: '--quiet',
  action: '--accent',
};

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Vertical lines at each mark, at its own time (estimated starts, detections, blocks, ends, operators' actions). */
function marksPlugin(get: () => RateSeries): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const s = get();
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        // Flood marks are ticks in a strip along the bottom (there may be
        // hundreds); operators' actions, rarer, are dashed full-height lines.
        const tick = 10 * devicePixelRatio;
        const colours = Object.fromEntries(Object.entries(MARK_VAR).map(([k, v]) => [k, cssVar(v)]));
        for (const m of s.marks) {
          const x = Math.round(u.valToPos(Date.parse(m.at) / 1000, 'x', true));
          if (!(x >= left && x <= left + width)) continue;
          ctx.strokeStyle = colours[m.kind]!;
          const action = m.kind === 'action';
          // An estimated start is dotted, in the detections' row: an
          // estimate (up to a window before the detection), not an event.
          ctx.setLineDash(action ? [4, 3] : m.kind === 'start' ? [1, 2] : []);
          const row = m.kind === 'detect' || m.kind === 'start' ? 2 : m.kind === 'block' ? 1 : 0;
          ctx.beginPath();
          ctx.moveTo(x, action ? top : top + height - tick * (row + 1));
          ctx.lineTo(x, action ? top + height : top + height - tick * row - 2);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

function makePlot(el: HTMLElement, get: () => RateSeries): uPlot {
  const s = get();
  const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
  return new uPlot(
    {
      width: Math.max(300, el.clientWidth),
      height: 220,
      plugins: [marksPlugin(get)],
      // x spans what there is (at least 5 min, at most 30), not the
      // console's whole mostly empty half hour.
      scales: { x: { time: true, range: () => get().xRange(Date.now() / 1000) }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
      axes: [{ ...axis, values: (_u, vals) => axisTimes(vals) }, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => (v >= 1000 ? `${v / 1000}k` : String(v))) }],
      legend: { live: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'time (UTC)' },
        { label: 'attempts/s', stroke: cssVar('--detecting'), width: 2, fill: cssVar('--detecting-fill'), spanGaps: false },
        { label: 'dropped/s', stroke: cssVar('--blocking'), width: 2, spanGaps: false },
      ],
    },
    [s.t, s.attempts, s.dropped] as uPlot.AlignedData,
    el,
  );
}

export function RateChart() {
  useTopics('rate', 'select');
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const series = endpointRate ?? fleetRate;
  const current = useRef(series);
  current.current = series;

  useEffect(() => {
    const el = box.current!;
    const build = () => {
      plot.current?.destroy();
      plot.current = makePlot(el, () => current.current);
    };
    build();
    const ro = new ResizeObserver(() => {
      const p = plot.current;
      if (p && Math.abs(p.width - el.clientWidth) > 2) p.setSize({ width: Math.max(300, el.clientWidth), height: 220 });
    });
    ro.observe(el);
    const mq = matchMedia('(prefers-color-scheme: dark)');
    mq.addEventListener('change', build);
    return () => {
      ro.disconnect();
      mq.removeEventListener('change', build);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  // New points or marks (or another endpoint): one setData per frame at most.
  useEffect(() => {
    plot.current?.setData([series.t, series.attempts, series.dropped] as uPlot.AlignedData);
  }, [series, series.rev]);

  const recent = series.marks.slice(-4).reverse();
  return (
    <section class="card chart-card" aria-labelledby="chart-title">
      <h2 id="chart-title">
        {series.endpoint ? `${series.endpoint}: connection attempts` : 'Fleet: connection attempts'}
        {series.endpoint && (
          <button type="button" class="link" onClick={() => selectEndpoint(null)}>
            back to fleet
          </button>
        )}
      </h2>
      <div ref={box} class="chart" data-testid="rate-chart" role="img" aria-label={`Connection attempts per second over up to the last 30 minutes${series.endpoint ? ' on ' + series.endpoint : ' across the fleet'}`} />
      <p class="chart-key muted small">
        <span class="k-start">┊ estimated starts</span> <span class="k-detect">▮ detections</span> <span class="k-block">▮ blocks</span>{' '}
        <span class="k-end">▮ ends</span>{' '}
        <span class="k-action">┆ operators' actions</span>
      </p>
      <ul class="marks" aria-label="Recent events on the timeline">
        {recent.map((m, i) => (
          <li key={m.at + m.text + i} class={'mark-' + m.kind}>
            <span class="mono">{clock(m.at, now)}</span> {m.kind}: {m.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
