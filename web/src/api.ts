// The console's REST API as the page calls it: cookie session, and on every
// write the session's CSRF token (docs/dashboard.md "Session").
import type { Session } from './state/types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onUnauthenticated: () => void = () => {};

export function setCsrf(token: string): void {
  csrfToken = token;
}

export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'the console cannot be reached');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string };
    const err = new ApiError(res.status, e.error ?? 'http_' + res.status, e.message ?? (text.trim() || res.statusText));
    if (res.status === 401 && path !== '/v1/session') onUnauthenticated();
    throw err;
  }
  return json as T;
}

export const login = (token: string) => api<Session>('POST', '/v1/session', { token });
export const currentSession = () => api<Session>('GET', '/v1/session');
export const logout = () => api<void>('DELETE', '/v1/session');

/** `/v1/blocks/10.0.0.0%2F8`: a prefix's `/` is escaped. */
export function blockPath(source: string): string {
  return '/v1/blocks/' + encodeURIComponent(source);
}

export function endpointPath(name: string, action: string): string {
  return `/v1/endpoints/${encodeURIComponent(name)}/${action}`;
}

/** The text to show for a failed action. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.message} (${e.status})` : e.message;
  return String(e);
}
