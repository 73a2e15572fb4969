import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * How many of `total` rows to render now: the first time a list fills, it
 * grows by `step` per animation frame (so a first load of 200 floods and
 * 1,000 tiles is not one long task); once complete it follows `total` at
 * once, so a new row is never held back a frame.
 */
export function useProgressive(total: number, step: number): number {
  const [n, setN] = useState(step);
  const done = useRef(false);
  if (total > 0 && n >= total) done.current = true;
  useEffect(() => {
    if (done.current || n >= total) return;
    const id = requestAnimationFrame(() => setN((x) => x + step));
    return () => cancelAnimationFrame(id);
  }, [n, total, step]);
  return done.current ? total : Math.min(n, total);
}
