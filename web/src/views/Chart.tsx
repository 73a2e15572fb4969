import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { clock } from '../state/format';
import type { RateSeries } from '../state/timeline';
import type { MarkKind } from '../state/types';
import { endpointRate, fleetRate, now, selectEndpoint, useTopics } from '../store';

const MARK_VAR: Record<MarkKind, string> = {
  detect: '--detecting',
  block: '--blocking',
  end: '--quiet',
  action: '--accent',
};

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Vertical lines at each mark (detections, blocks, ends, operators' actions). */
function marksPlugin(get: () => RateSeries): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const s = get();
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        for (const m of s.marks) {
          const x = u.valToPos(Date.parse(m.at) / 1000, 'x', true);
          if (!(x >= left && x <= left + width)) continue;
          ctx.strokeStyle = cssVar(MARK_VAR[m.kind]);
          ctx.setLineDash(m.kind === 'action' ? [4, 3] : []);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
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
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
      axes: [axis, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => (v >= 1000 ? `${v / 1000}k` : String(v))) }],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'UTC', value: (_u, v) => (v == null ? '–' : new Date(v * 1000).toISOString().slice(11, 19)) },
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

  const recent = series.marks.slice(-5).reverse();
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
      <div ref={box} class="chart" data-testid="rate-chart" role="img" aria-label={`Connection attempts per second over the last 30 minutes${series.endpoint ? ' on ' + series.endpoint : ' across the fleet'}`} />
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
