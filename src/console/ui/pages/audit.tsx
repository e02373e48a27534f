import { useEffect, useState } from 'preact/hooks';
import { when } from '../format.ts';
import type { AuditEntry } from '../types.ts';
import { Hash, Heading, Problem, useData } from './shared.tsx';

const FIELDS = ['actor', 'action', 'resource', 'outcome', 'since', 'until'] as const;

/** Links each entry to the one before it in this page: a broken link is shown, not hidden. */
function linked(entries: AuditEntry[], i: number): boolean | null {
  const older = entries[i + 1];
  const entry = entries[i];
  if (!older || !entry || older.seq !== entry.seq - 1) return null;
  return entry.prevHash === older.hash;
}

export function AuditPage({ query }: { query: URLSearchParams }) {
  const [form, setForm] = useState<Record<string, string>>(() => Object.fromEntries(FIELDS.map((f) => [f, query.get(f) ?? ''])));
  const params = new URLSearchParams(FIELDS.flatMap((f) => (query.get(f) ? [[f, toIso(f, query.get(f) as string)]] : [])));
  const { data, error } = useData<{ entries: AuditEntry[]; next: number | null }>(`/console/api/audit?${params}`);
  useEffect(() => {
    document.title = 'Audit — Countersign';
  }, []);
  const apply = (e: Event) => {
    e.preventDefault();
    const next = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    location.hash = `#/audit?${next}`;
  };
  const entries = data?.entries ?? [];
  const verified = useData<{
    ok: boolean;
    entries: number;
    lastSeq: number;
    lastCheckpoint: { seq: number; ts: string } | null;
    firstBadSeq: number | null;
    message: string;
  }>('/console/api/audit/verify');
  return (
    <section>
      <Heading>Audit log</Heading>
      <p class="hint">
        Newest first. Each entry carries its hash and the hash of the entry before it (its chain position); “linked” means this page checked
        the link. <code>countersign audit verify</code> checks the whole chain against the signed checkpoints.
      </p>
      <section aria-labelledby="h-verify" class={verified.data && !verified.data.ok ? 'problem' : ''}>
        <h2 id="h-verify">Chain verification</h2>
        {!verified.data && !verified.error && <p>Verifying the chain…</p>}
        <Problem message={verified.error} />
        {verified.data?.ok && (
          <p>
            <span class="ok">Verified</span>: {verified.data.entries} entries, every hash and link;{' '}
            {verified.data.lastCheckpoint
              ? `newest signed checkpoint at #${verified.data.lastCheckpoint.seq} (${when(verified.data.lastCheckpoint.ts)}); entries after it are linked but not yet signed`
              : 'no signed checkpoint yet'}
            .
          </p>
        )}
        {verified.data && !verified.data.ok && (
          <p>
            FAILED at #{verified.data.firstBadSeq}: {verified.data.message}
          </p>
        )}
      </section>
      <form class="filters" onSubmit={apply} aria-label="Filter the audit log">
        {FIELDS.map((f) => (
          <label key={f} for={`audit-${f}`}>
            {f}
            {f === 'outcome' ? (
              <select id={`audit-${f}`} value={form[f]} onChange={(e) => setForm({ ...form, [f]: (e.target as HTMLSelectElement).value })}>
                <option value="">any</option>
                {['allowed', 'denied', 'succeeded', 'failed'].map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : f === 'since' || f === 'until' ? (
              <input
                type="datetime-local"
                value={form[f]}
                onInput={(e) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value })}
              />
            ) : (
              <input
                id={`audit-${f}`}
                type="text"
                value={form[f]}
                onInput={(e) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value })}
              />
            )}
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <Problem message={error} />
      {data && entries.length === 0 && <p class="empty">No entries match.</p>}
      {entries.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Resource</th>
                <th scope="col">Hash / previous</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e, i) => {
                const link = linked(entries, i);
                return (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{when(e.ts)}</td>
                    <td>{e.actor}</td>
                    <td>
                      {e.action} <span class="muted">{e.code}</span>
                    </td>
                    <td>
                      <span class={`badge outcome-${e.outcome}`}>{e.outcome}</span>
                    </td>
                    <td>
                      <code>{e.resource}</code>
                      <details>
                        <summary>details</summary>
                        <pre class="output">{JSON.stringify(e.details, null, 2)}</pre>
                      </details>
                    </td>
                    <td>
                      <Hash value={e.hash.slice(0, 16)} /> ← <Hash value={e.prevHash.slice(0, 16)} />{' '}
                      {link === true && <span class="ok">linked</span>}
                      {link === false && <span class="problem-inline">BROKEN LINK</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data?.next && (
        <p>
          <a href={`#/audit?${new URLSearchParams({ ...Object.fromEntries(query), before: String(data.next) })}`}>Older entries</a>
        </p>
      )}
    </section>
  );
}

function toIso(field: string, value: string): string {
  if (field !== 'since' && field !== 'until') return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}
