import { useEffect } from 'preact/hooks';
import { age } from '../format.ts';
import type { Plan } from '../types.ts';
import { Heading, Problem, RiskBadge, useData } from './shared.tsx';

const RISKS = ['low', 'medium', 'high', 'critical'];

/** What a plan still needs, seat by seat: "1 more from sre (have 1 of 2)". */
function stillRequired(p: Plan): string {
  const reqs = p.tally?.requirements ?? p.approval.require.map((r) => ({ ...r, have: 0 }));
  const open = reqs.filter((r) => r.have < r.count);
  if (open.length === 0) return 'nothing: ready';
  return open.map((r) => `${r.count - r.have} more from ${r.group} (${r.have} of ${r.count})`).join('; ');
}

function setFilter(name: string, value: string, query: URLSearchParams) {
  const next = new URLSearchParams(query);
  if (value) next.set(name, value);
  else next.delete(name);
  location.hash = `#/?${next}`;
}

export function InboxPage({ query }: { query: URLSearchParams }) {
  const { data, error } = useData<{ plans: Plan[] }>('/console/api/inbox');
  const environment = query.get('environment') ?? '';
  const risk = query.get('risk') ?? '';
  const all = data?.plans ?? [];
  const plans = all
    .filter((p) => (!environment || p.environment === environment) && (!risk || p.risk === risk))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const environments = [...new Set(all.map((p) => p.environment))].sort();

  useEffect(() => {
    document.title = `(${all.length}) Inbox — Countersign`;
  }, [all.length]);

  return (
    <section>
      <Heading>
        Inbox <span class="count">{data ? `${plans.length} waiting for you` : ''}</span>
      </Heading>
      <p class="hint">Plans you may review and have not reviewed yet, newest first.</p>
      <form class="filters" aria-label="Filter the inbox" onSubmit={(e) => e.preventDefault()}>
        <label>
          Environment
          <select value={environment} onChange={(e) => setFilter('environment', (e.target as HTMLSelectElement).value, query)}>
            <option value="">all</option>
            {environments.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
        </label>
        <label>
          Risk
          <select value={risk} onChange={(e) => setFilter('risk', (e.target as HTMLSelectElement).value, query)}>
            <option value="">all</option>
            {RISKS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
      </form>
      <Problem message={error} />
      {data && plans.length === 0 && <p class="empty">Nothing waits for your review.</p>}
      {plans.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Plans waiting for your review</caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Environment</th>
                <th scope="col">Risk</th>
                <th scope="col">Age</th>
                <th scope="col">Still required</th>
                <th scope="col">Proposer</th>
              </tr>
            </thead>
            <tbody>
              {plans.map((p) => (
                <tr key={p.id}>
                  <td>
                    <a href={`#/plans/${encodeURIComponent(p.id)}`}>{p.intent}</a>
                  </td>
                  <td>{p.environment}</td>
                  <td>
                    <RiskBadge risk={p.risk} />
                  </td>
                  <td>
                    <time dateTime={p.createdAt}>{age(p.createdAt)}</time>
                  </td>
                  <td>{stillRequired(p)}</td>
                  <td>{p.proposerName ?? p.proposer}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
