import { useEffect } from 'preact/hooks';
import { age, when } from '../format.ts';
import { Hash, Heading, Problem, useData } from './shared.tsx';

interface Override {
  id: string;
  status?: string;
  reason: string;
  issuedBy?: string;
  issuedAt?: string;
  expiresAt?: string;
  scope?: { environment?: string };
}

/** Read-only views for admins; each read is decided by policy, so a refusal shows here as a message. */
export function AdminPage() {
  const overrides = useData<{ overrides: Override[] }>('/console/api/admin/overrides');
  const freezes = useData<{ freezes: { scope: string; reason: string; actor: string; createdAt: string }[] }>('/console/api/admin/freezes');
  const principals = useData<{ principals: { id: string; name: string; kind: string; groups: string[]; disabled: boolean }[] }>(
    '/console/api/admin/principals',
  );
  const trust = useData<{
    keys: { id: string; name?: string; addedAt?: string }[];
    policy: { required: number; environments: Record<string, number> };
  }>('/console/api/admin/trust');
  useEffect(() => {
    document.title = 'Admin — Countersign';
  }, []);
  return (
    <section>
      <Heading>Administration (read-only)</Heading>
      <section aria-labelledby="h-overrides">
        <h2 id="h-overrides">Break-glass overrides</h2>
        <Problem message={overrides.error} />
        {overrides.data && overrides.data.overrides.length === 0 && <p class="empty">None issued.</p>}
        {overrides.data && overrides.data.overrides.length > 0 && (
          <ul>
            {overrides.data.overrides.map((o) => (
              <li key={o.id}>
                <code>{o.id}</code> {o.status ?? ''} · {o.scope?.environment ?? ''} · {o.reason} · issued {when(o.issuedAt ?? null)} by{' '}
                {o.issuedBy ?? '—'} · expires {when(o.expiresAt ?? null)}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="h-freezes">
        <h2 id="h-freezes">Freezes</h2>
        <Problem message={freezes.error} />
        {freezes.data && freezes.data.freezes.length === 0 && <p class="empty">Nothing is frozen.</p>}
        <ul>
          {freezes.data?.freezes.map((f) => (
            <li key={f.scope}>
              {f.scope === '*' ? 'whole tenant' : f.scope}: {f.reason} (by {f.actor}, {age(f.createdAt)})
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="h-principals">
        <h2 id="h-principals">Principals</h2>
        <Problem message={principals.error} />
        {principals.data && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Groups</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {principals.data.principals.map((p) => (
                  <tr key={p.id}>
                    <td>{p.name}</td>
                    <td>{p.kind}</td>
                    <td>{p.groups.join(', ')}</td>
                    <td>{p.disabled ? 'disabled' : 'active'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="h-trust">
        <h2 id="h-trust">Trusted tool publishers</h2>
        <Problem message={trust.error} />
        {trust.data && (
          <>
            <p>
              Manifests need {trust.data.policy.required} valid signature(s)
              {Object.entries(trust.data.policy.environments)
                .map(([env, n]) => `; ${n} in ${env}`)
                .join('')}
              .
            </p>
            <ul>
              {trust.data.keys.map((k) => (
                <li key={k.id}>
                  <Hash value={k.id} /> {k.name ?? ''} {k.addedAt ? `added ${when(k.addedAt)}` : ''}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </section>
  );
}
