import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { age, when } from '../format.ts';
import type { Execution } from '../types.ts';
import { Heading, Problem, Status, useData } from './shared.tsx';

const TERMINAL = ['succeeded', 'failed', 'rolled_back', 'needs_attention', 'cancelled'];

function KillSwitch() {
  const freezes = useData<{ freezes: { scope: string; reason: string; actor: string; createdAt: string }[] }>('/console/api/admin/freezes');
  const [environment, setEnvironment] = useState('');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const act = async (on: boolean, scope?: string) => {
    setMessage(null);
    try {
      const env = scope ?? environment;
      await api.post(on ? '/console/api/freeze' : '/console/api/unfreeze', {
        ...(env && env !== '*' ? { environment: env } : {}),
        ...(on ? { reason } : {}),
      });
      setMessage(on ? 'Kill switch on.' : 'Kill switch lifted.');
      freezes.reload();
    } catch (err) {
      setMessage(explain(err));
    }
  };
  return (
    <section aria-labelledby="h-kill">
      <h2 id="h-kill">Kill switch</h2>
      {freezes.data && freezes.data.freezes.length > 0 ? (
        <ul>
          {freezes.data.freezes.map((f) => (
            <li key={f.scope}>
              <strong>{f.scope === '*' ? 'Whole tenant' : f.scope}</strong> frozen: {f.reason} ({age(f.createdAt)}){' '}
              <button type="button" onClick={() => act(false, f.scope)}>
                Lift
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>Nothing is frozen.</p>
      )}
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void act(true);
        }}
      >
        <label>
          Environment (empty: the whole tenant)
          <input value={environment} onInput={(e) => setEnvironment((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Reason
          <input required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="danger">
          Freeze
        </button>
      </form>
      {message && <p role="status">{message}</p>}
      <Problem message={freezes.error} />
    </section>
  );
}

export function ExecutionsPage() {
  const { data, error } = useData<{ executions: Execution[] }>('/console/api/executions');
  const plan = new URLSearchParams(location.hash.split('?')[1] ?? '').get('plan');
  const list = (data?.executions ?? []).filter((e) => !plan || e.planId === plan);
  useEffect(() => {
    document.title = 'Executions — Countersign';
  }, []);
  return (
    <section>
      <Heading>Executions</Heading>
      <Problem message={error} />
      {data && list.length === 0 && <p class="empty">No executions yet.</p>}
      {list.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Execution</th>
                <th scope="col">Status</th>
                <th scope="col">Environment</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id}>
                  <td>
                    <a href={`#/executions/${encodeURIComponent(e.id)}`}>{e.id}</a>
                  </td>
                  <td>
                    <Status status={e.status} />
                  </td>
                  <td>{e.environment}</td>
                  <td>{age(e.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <KillSwitch />
    </section>
  );
}

interface LogLine {
  seq: string;
  type: string;
  text: string;
}

function describe(type: string, data: Record<string, unknown>): string {
  const step = data.index !== undefined ? ` step ${Number(data.index) + 1}` : '';
  const bits = Object.entries(data)
    .filter(([k]) => !['ts', 'index'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${type}${step} ${bits}`.trim();
}

const EVENT_TYPES = [
  'execution.queued',
  'execution.started',
  'execution.released',
  'execution.finished',
  'step.started',
  'step.retry',
  'step.finished',
  'rollback.started',
  'grant.revoked',
];

export function ExecutionPage({ id }: { id: string }) {
  const { data, error, reload } = useData<Execution>(`/console/api/executions/${encodeURIComponent(id)}`);
  const [log, setLog] = useState<LogLine[]>([]);
  const [live, setLive] = useState(false);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<string | null>(null);

  // The live step log: the server's execution event stream, authorized by the session.
  useEffect(() => {
    const source = new EventSource(`/console/api/executions/${encodeURIComponent(id)}/events`);
    setLive(true);
    const onEvent = (e: MessageEvent) => {
      const data = JSON.parse(e.data) as Record<string, unknown>;
      setLog((l) =>
        l.some((x) => x.seq === e.lastEventId) ? l : [...l, { seq: e.lastEventId, type: e.type, text: describe(e.type, data) }],
      );
      reload();
      if (e.type === 'execution.finished') {
        source.close();
        setLive(false);
      }
    };
    for (const t of EVENT_TYPES) source.addEventListener(t, onEvent as EventListener);
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) setLive(false);
    });
    return () => source.close();
  }, [id]);

  useEffect(() => {
    if (data) document.title = `Execution ${data.status} — Countersign`;
    if (data && TERMINAL.includes(data.status)) setLive(false);
  }, [data?.status]);

  const revoke = async (e: Event) => {
    e.preventDefault();
    try {
      await api.post(`/console/api/executions/${encodeURIComponent(id)}/revoke-grant`, { reason });
      setMessage('The grant is revoked: the executor stops before its next step.');
    } catch (err) {
      setMessage(explain(err));
    }
  };

  return (
    <article>
      <Heading>Execution {id}</Heading>
      <Problem message={error} />
      {data && (
        <>
          <p class="meta">
            <span id="execution-status">
              <Status status={data.status} />
            </span>{' '}
            in <strong>{data.environment}</strong> · plan <a href={`#/plans/${encodeURIComponent(data.planId)}`}>{data.planId}</a> · grant{' '}
            <code>{data.grant.jti}</code> · started {when(data.startedAt)} · finished {when(data.finishedAt)}
          </p>
          {data.reason && <p>{data.reason}</p>}
          <h2>Steps</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Step</th>
                  <th scope="col">Status</th>
                  <th scope="col">Exit code</th>
                  <th scope="col">Output</th>
                </tr>
              </thead>
              <tbody>
                {data.steps.map((s) => (
                  <tr key={`${s.phase}-${s.index}`}>
                    <td>
                      {s.phase === 'rollback' ? 'rollback ' : ''}
                      {s.index + 1}. {s.tool} · {s.action}
                    </td>
                    <td>
                      <Status status={s.status} />
                    </td>
                    <td>{s.exitCode ?? '—'}</td>
                    <td>
                      {s.stdout && <pre class="output">{s.stdout}</pre>}
                      {s.stderr && <pre class="output stderr">{s.stderr}</pre>}
                      {s.error && <p class="problem-inline">{s.error}</p>}
                      {s.truncated && <p class="muted">output truncated</p>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h2>
        Live log <span class="muted">{live ? '(live)' : '(ended)'}</span>
      </h2>
      <ol class="log" aria-live="polite" aria-label="Execution events">
        {log.map((l) => (
          <li key={l.seq}>
            <code>{l.text}</code>
          </li>
        ))}
      </ol>
      {data && !TERMINAL.includes(data.status) && (
        <form class="filters" onSubmit={revoke} aria-labelledby="h-revoke">
          <h2 id="h-revoke">Stop it</h2>
          <label>
            Reason
            <input required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="danger">
            Revoke grant
          </button>
        </form>
      )}
      {message && <p role="status">{message}</p>}
    </article>
  );
}
