// The policy form's values ↔ the body of PUT /v1/policies/{name} and
// POST /v1/policy-preview (docs/api.md "Policies").
import type { Policy } from './types';

export const SELECTOR_KEYS = ['org', 'type', 'dept', 'name'] as const;
export const ENFORCERS = ['xdp', 'nftables', 'none'] as const;

export interface PolicyForm {
  name: string;
  selector: string;
  flood_threshold: string;
  flood_window: string;
  block_duration: string;
  enforcer: string;
}

export interface PolicyBody {
  name: string;
  selector: Record<string, string>;
  flood_threshold: number;
  flood_window: string;
  block_duration: string;
  enforcer: string;
}

export function formatSelector(sel: Record<string, string>): string {
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export function formOf(p: Policy | null): PolicyForm {
  if (!p) return { name: '', selector: '', flood_threshold: '200', flood_window: '5s', block_duration: '1m', enforcer: 'xdp' };
  return {
    name: p.name,
    selector: formatSelector(p.selector),
    flood_threshold: String(p.flood_threshold),
    flood_window: p.flood_window,
    block_duration: p.block_duration,
    enforcer: p.enforcer,
  };
}

/** `"dept=payments, type=server"` → object; `""` → `{}` (every endpoint). */
export function parseSelector(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `"${part}" is not key=value`;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!(SELECTOR_KEYS as readonly string[]).includes(k)) return `selector key "${k}" is not one of ${SELECTOR_KEYS.join(', ')}`;
    if (!v) return `selector ${k} has no value`;
    if (k in out) return `selector ${k} given twice`;
    out[k] = v;
  }
  return out;
}

const DURATION = /^(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;

/** The form checked as the console would; a string is the first problem. */
export function policyBody(f: PolicyForm): PolicyBody | string {
  const name = f.name.trim();
  if (!name || new TextEncoder().encode(name).length > 64) return 'name: 1 to 64 bytes';
  if (name === 'default') return 'name: "default" is reserved';
  const selector = parseSelector(f.selector);
  if (typeof selector === 'string') return selector;
  const threshold = Number(f.flood_threshold);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 1_000_000) return 'flood threshold: a whole number 1..1000000';
  for (const [label, v] of [
    ['flood window', f.flood_window],
    ['block duration', f.block_duration],
  ] as const)
    if (!v.trim() || !DURATION.test(v.trim())) return `${label}: a duration such as 500ms, 5s, 10m, 1h`;
  if (!(ENFORCERS as readonly string[]).includes(f.enforcer)) return 'enforcer: xdp, nftables or none';
  return {
    name,
    selector,
    flood_threshold: threshold,
    flood_window: f.flood_window.trim(),
    block_duration: f.block_duration.trim(),
    enforcer: f.enforcer,
  };
}
