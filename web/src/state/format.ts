// Text for times, durations and rates; pure, with the clock passed in.

/** 0 → "0s", 75 → "1m 15s", 7300 → "2h 1m", 90000 → "1d 1h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * Like duration but to the minute past the first minute ("42s", "17m",
 * "2h 5m"): a row showing it changes once a minute, not every second.
 */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Time since an RFC 3339 string, "–" for null. */
export function since(at: string | null, nowMs: number): string {
  if (!at) return '–';
  const t = Date.parse(at);
  if (!Number.isFinite(t)) return '–';
  return duration((nowMs - t) / 1000);
}

/** TTL left: "permanent", "expired" or a duration. */
export function ttlLeft(expiresAt: string | null, nowMs: number): string {
  if (!expiresAt) return 'permanent';
  const left = (Date.parse(expiresAt) - nowMs) / 1000;
  if (!(left > 0)) return 'expired';
  return duration(left);
}

/** "2026-11-30T00:53:20.123Z" → "00:53:20" (today) or "11-29 00:53" (older), UTC. */
/**
 * An endpoint's last-heartbeat cell: "on time" while the console says so
 * (online and not `heartbeat_late`: it sends no item for a heartbeat's time
 * alone, so the time the page holds is only as new as the item), else how
 * long ago (late or offline: the time no longer moves), or "never".
 */
export function heartbeatText(
  e: { online: boolean; heartbeat_late?: boolean; last_heartbeat: string | null },
  nowMs: number,
): string {
  if (e.online && e.heartbeat_late === false) return 'on time';
  return e.last_heartbeat ? `${since(e.last_heartbeat, nowMs)} ago` : 'never';
}

export function clock(at: string | null, nowMs: number): string {
  if (!at) return '–';
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '–';
  const iso = d.toISOString();
  const sameDay = iso.slice(0, 10) === new Date(nowMs).toISOString().slice(0, 10);
  return sameDay ? iso.slice(11, 19) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** 1234.5 → "1.2k/s", 12 → "12/s". */
export function rate(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '–';
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k/s`;
  return `${Math.round(r)}/s`;
}

/** A port flood's rate against its learned normal: 22000 over 40 → "550× normal"; no normal: "". */
export function timesNormal(r: number, normal: number): string {
  if (!(normal > 0) || !Number.isFinite(r)) return '';
  const x = r / normal;
  return `${x >= 10 ? Math.round(x).toLocaleString('en') : x.toFixed(1)}× normal`;
}

/** [80, 443, 8080, ...] → "80, 443, 8080 +2". */
export function ports(p: number[], show = 3): string {
  if (p.length === 0) return 'any';
  const head = p.slice(0, show).join(', ');
  return p.length > show ? `${head} +${p.length - show}` : head;
}

/**
 * Labels of the chart's time axis (UTC, tick values in seconds): "HH:MM"
 * when every tick falls on a whole minute, else "HH:MM:SS" for all, so
 * ticks 30 s apart never read as the same minute twice.
 */
export function axisTimes(vals: number[]): string[] {
  const seconds = vals.some((v) => Math.round(v) % 60 !== 0);
  return vals.map((v) => new Date(v * 1000).toISOString().slice(11, seconds ? 19 : 16));
}
