import { useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { Heading, Problem, useData } from './shared.tsx';

const CALLBACK_ERRORS: Record<string, string> = {
  expired: 'That sign-in took too long or was started in another browser. Try again.',
  refused: 'Your identity provider’s answer was not accepted, or you are not a known reviewer here.',
  agent: 'This identity is an agent. Only people sign in to the console.',
};

export function SignInPage({ query, onSignedIn }: { query: URLSearchParams; onSignedIn: () => void }) {
  const methods = useData<{ apiKey: boolean; oidc: boolean }>('/console/auth/methods');
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(CALLBACK_ERRORS[query.get('error') ?? ''] ?? null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.post('/console/auth/key', { key });
      setKey('');
      location.hash = '#/';
      onSignedIn();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <Heading>Sign in to review</Heading>
      <p>Countersign shows you the plans waiting for your review. Only people sign in here; agents use the API.</p>
      <Problem message={error ?? methods.error} />
      {methods.data?.oidc && (
        <p>
          <a class="button primary" href="/console/auth/oidc/start">
            Sign in with your identity provider
          </a>
        </p>
      )}
      {methods.data?.apiKey && (
        <form onSubmit={submit} class="stack">
          <h2>Development sign-in</h2>
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autoComplete="off"
            required
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            Sign in with key
          </button>
        </form>
      )}
      {methods.data && !methods.data.oidc && !methods.data.apiKey && <p>No sign-in method is configured. See docs/console.md.</p>}
    </section>
  );
}
