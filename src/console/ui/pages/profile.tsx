import { startRegistration } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { when } from '../format.ts';
import type { Session } from '../types.ts';
import { Heading, Problem, useData } from './shared.tsx';

/** Who you are here, and your security keys for the step-up on risky approvals. */
export function ProfilePage({ session }: { session: Session }) {
  const keys = useData<{ keys: { id: string; name: string; createdAt: string }[] }>('/console/api/keys');
  const [name, setName] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'Profile — Countersign';
  }, []);

  const register = async (e: Event) => {
    e.preventDefault();
    setMessage(null);
    try {
      const optionsJSON = await api.post<Parameters<typeof startRegistration>[0]['optionsJSON']>('/console/api/keys/options');
      const response = await startRegistration({ optionsJSON });
      await api.post('/console/api/keys', { name, response });
      setName('');
      setMessage('Security key registered.');
      keys.reload();
    } catch (err) {
      setMessage(err instanceof Error && err.name === 'NotAllowedError' ? 'The security key prompt was cancelled.' : explain(err));
    }
  };
  const remove = async (id: string) => {
    try {
      await api.delete(`/console/api/keys/${encodeURIComponent(id)}`);
      setMessage('Security key removed.');
      keys.reload();
    } catch (err) {
      setMessage(explain(err));
    }
  };

  return (
    <section>
      <Heading>Profile</Heading>
      <dl>
        <dt>Name</dt>
        <dd>{session.name}</dd>
        <dt>Groups</dt>
        <dd>{session.groups.join(', ') || 'none'}</dd>
        <dt>Signed in with</dt>
        <dd>{session.authMethod === 'oidc' ? 'your identity provider' : 'an API key (development)'}</dd>
        <dt>Session ends at the latest</dt>
        <dd>{when(session.expiresAt)}</dd>
      </dl>
      <section aria-labelledby="h-keys">
        <h2 id="h-keys">Security keys</h2>
        <p>Approving a high or critical risk plan asks for one of these, signing over the plan’s hash.</p>
        <Problem message={keys.error} />
        {keys.data && keys.data.keys.length === 0 && <p class="empty">No security key registered.</p>}
        <ul>
          {keys.data?.keys.map((k) => (
            <li key={k.id}>
              <strong>{k.name}</strong> added {when(k.createdAt)}{' '}
              <button type="button" onClick={() => remove(k.id)} aria-label={`Remove security key ${k.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <form class="filters" onSubmit={register}>
          <label>
            Key name
            <input required maxLength={64} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Register a security key</button>
        </form>
        {message && <p role="status">{message}</p>}
      </section>
    </section>
  );
}
