import { useState } from 'preact/hooks';
import { ApiError, errorText, login } from '../api';
import { startSession } from '../store';

export function Login() {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await login(token.trim());
      setToken('');
      startSession(s);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('That token was not accepted: check it, or ask an admin for a new one.');
      else if (err instanceof ApiError && err.status === 429) setError('Too many attempts: wait a moment and try again.');
      else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} class="card login-card">
        <h1>SYN Guard</h1>
        <p class="muted">Sign in with an API token (<code>syn-guard ctl token create</code>).</p>
        <label for="login-token">API token</label>
        <input
          id="login-token"
          data-testid="login-token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" data-testid="login-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
