import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, blockPath, endpointPath, setCsrf, setUnauthenticatedHandler } from './api';

function stub(status: number, body: unknown) {
  const f = vi.fn(async () => new Response(body === undefined ? null : JSON.stringify(body), { status }));
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
}
const headersOf = (f: ReturnType<typeof stub>) => (f.mock.calls[0] as unknown as [string, RequestInit])[1];

afterEach(() => {
  setCsrf('');
  setUnauthenticatedHandler(() => {});
});

describe('api', () => {
  it('writes carry the session’s CSRF token and the cookie; reads no token', async () => {
    setCsrf('tok');
    let f = stub(200, { source: 'x', version: 3 });
    await api('POST', '/v1/blocks', { source: 'x' });
    let init = headersOf(f);
    expect((init.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
    expect(init.credentials).toBe('same-origin');
    expect(init.body).toBe('{"source":"x"}');
    f = stub(200, { items: [] });
    await api('GET', '/v1/floods');
    init = headersOf(f);
    expect((init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    f = stub(204, undefined);
    await api('DELETE', '/v1/session');
    expect((headersOf(f).headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
  });

  it('errors keep the console’s code and message; a 401 ends the session, except at login', async () => {
    let ended = 0;
    setUnauthenticatedHandler(() => ended++);
    stub(403, { error: 'csrf', message: 'missing X-CSRF-Token' });
    await expect(api('POST', '/v1/blocks', {})).rejects.toMatchObject({ status: 403, code: 'csrf', message: 'missing X-CSRF-Token' });
    stub(401, { error: 'unauthenticated', message: 'unauthenticated' });
    await expect(api('GET', '/v1/floods')).rejects.toBeInstanceOf(ApiError);
    expect(ended).toBe(1);
    await expect(api('POST', '/v1/session', { token: 'x' })).rejects.toMatchObject({ status: 401 });
    expect(ended).toBe(1);
  });

  it('escapes a prefix’s slash and an endpoint name in paths', () => {
    expect(blockPath('10.0.0.0/8')).toBe('/v1/blocks/10.0.0.0%2F8');
    expect(endpointPath('web 1', 'isolate')).toBe('/v1/endpoints/web%201/isolate');
  });
});
