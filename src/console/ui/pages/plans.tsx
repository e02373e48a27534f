import { useEffect } from 'preact/hooks';
import { age } from '../format.ts';
import type { Plan } from '../types.ts';
import { Heading, Problem, RiskBadge, Status, useData } from './shared.tsx';

const STATUSES = [
  'pending_approval',
  'approved',
  'executing',
  'succeeded',
  'failed',
  'rolled_back',
  'needs_attention',
  'rejected',
  'expired',
  'cancelled',
  // previews (issue 17)
  'previewing',
];

/** Every plan, decided ones included: auditors read what was approved and by whom. */
export function PlansPage({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const path = `/console/api/plans${status ? `?status=${encodeURIComponent(status)}` : ''}`;
  const { data, error } = useData<{ plans: Plan[] }>(path);
  useEffect(() => {
    document.title = 'Plans — Countersign';
  }, []);
  return (
    <section>
      <Heading>Plans</Heading>
      <form class="filters" aria-label="Filter plans" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              location.hash = v ? `#/plans?status=${v}` : '#/plans';
            }}
          >
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Problem message={error} />
      {data && data.plans.length === 0 && <p class="empty">No plans.</p>}
      {data && data.plans.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Plans</caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Status</th>
                <th scope="col">Environment</th>
                <th scope="col">Risk</th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {data.plans.map((p) => (
                <tr key={p.id}>
                  <td>
                    <a href={`#/plans/${encodeURIComponent(p.id)}`}>{p.intent}</a>
                  </td>
                  <td>
                    <Status status={p.status} />
                  </td>
                  <td>{p.environment}</td>
                  <td>
                    <RiskBadge risk={p.risk} />
                  </td>
                  <td>{age(p.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
