import { startAuthentication } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { age, shellQuote, when } from '../format.ts';
import type { Finding, PlanPage as PlanPageData, Preview, Session, Step } from '../types.ts';
import { Hash, Heading, Problem, RiskBadge, Status, useData } from './shared.tsx';

// ---- previews (issue 17) ----
/** A unified diff, one line per row, its +/- lines coloured (the sign stays visible: colour is not the only cue). */
function DiffView({ text }: { text: string }) {
  const lines = text.replace(/\n$/, '').split('\n');
  const kind = (l: string) =>
    l.startsWith('+++') || l.startsWith('---')
      ? 'diff-file'
      : l.startsWith('@@')
        ? 'diff-hunk'
        : l.startsWith('+')
          ? 'diff-add'
          : l.startsWith('-')
            ? 'diff-del'
            : '';
  return (
    <pre class="diff">
      <code>
        {lines.map((l, i) => (
          <span key={i} class={`diff-line ${kind(l)}`}>
            {l}
            {'\n'}
          </span>
        ))}
      </code>
    </pre>
  );
}

const PREVIEW_STATUS: Record<Preview['status'], string> = { ok: 'ok', failed: 'failed', timed_out: 'timed out' };

function Previews({ previews, status }: { previews: Preview[] | undefined; status: string }) {
  if (status === 'previewing')
    return (
      <section aria-labelledby="h-previews">
        <h2 id="h-previews">Previews</h2>
        <p class="muted">The executor is running this plan's previews; it can be reviewed once they are attached.</p>
      </section>
    );
  if (!previews || previews.length === 0) return null;
  return (
    <section aria-labelledby="h-previews">
      <h2 id="h-previews">Previews: what the steps would change</h2>
      <ol class="previews">
        {previews.map((p) => (
          <li key={p.step}>
            <p>
              <strong>
                Step {p.step + 1}: {p.tool} · {p.action}
              </strong>{' '}
              <span class={p.status === 'ok' ? 'badge' : 'badge problem-inline'}>{PREVIEW_STATUS[p.status]}</span>{' '}
              <span class="muted">
                state {p.fingerprint.slice(0, 19)}… ({p.fingerprintSource === 'file' ? 'reported by the tool' : 'of its output'})
              </span>
            </p>
            {p.error && (
              <p class="problem">
                The preview {PREVIEW_STATUS[p.status]}: {p.error}
              </p>
            )}
            {p.output !== '' &&
              (p.diff ? (
                <>
                  <p class="label">Diff (lines starting with + are added, with - removed):</p>
                  <DiffView text={p.output} />
                </>
              ) : (
                <pre class="preview-output">
                  <code>{p.output}</code>
                </pre>
              ))}
            {p.errors !== '' && (
              <details open={p.status !== 'ok'}>
                <summary>Standard error</summary>
                <pre class="preview-output">
                  <code>{p.errors}</code>
                </pre>
              </details>
            )}
            {p.truncated && <p class="muted">The output was cut; only its beginning was kept and reviewed.</p>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Steps({ title, steps, findings, phase }: { title: string; steps: Step[]; findings: Finding[]; phase: 'steps' | 'rollback' }) {
  if (steps.length === 0) return null;
  return (
    <section aria-labelledby={`h-${phase}`}>
      <h2 id={`h-${phase}`}>{title}</h2>
      <ol class="steps">
        {steps.map((s, i) => {
          const mine = findings.filter((f) => f.phase === phase && f.step === i);
          return (
            <li key={`${phase}-${i}`}>
              <p>
                <strong>
                  {s.tool} · {s.action}
                </strong>{' '}
                <span class="muted">manifest {s.toolDigest.slice(0, 12)}…</span>
              </p>
              {s.argv ? (
                <>
                  <p class="label">Exact command (argv, no shell):</p>
                  <pre class="argv">
                    <code>{s.argv.map(shellQuote).join(' ')}</code>
                  </pre>
                  <details>
                    <summary>Arguments one by one ({s.argv.length})</summary>
                    <ol class="argv-list" start={0}>
                      {s.argv.map((a, j) => (
                        <li key={j}>
                          <code>{JSON.stringify(a)}</code>
                        </li>
                      ))}
                    </ol>
                  </details>
                </>
              ) : (
                <p class="problem">{s.argvNote ?? 'The command line could not be rendered: the tool is not loaded.'}</p>
              )}
              {mine.length > 0 && (
                <div class="findings">
                  <p class="label">Static-analysis findings:</p>
                  <ul>
                    {mine.map((f, k) => (
                      <li key={k} class={`finding sev-${f.severity}`}>
                        <span class="badge">{f.severity}</span> line {f.line}: {f.message} <code>{f.snippet}</code>{' '}
                        <span class="muted">({f.rule})</span>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function ReviewForm({
  page,
  onDone,
  onFailed,
}: {
  page: PlanPageData;
  onDone: (message: string) => void;
  onFailed: (message: string) => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const { plan } = page;

  const review = async (decision: 'approve' | 'reject') => {
    setBusy(true);
    try {
      let stepUp: unknown;
      if (decision === 'approve' && page.stepUpRequired) {
        const optionsJSON = await api.post<Parameters<typeof startAuthentication>[0]['optionsJSON']>(
          `/console/api/plans/${encodeURIComponent(plan.id)}/step-up`,
          { planHash: plan.hash },
        );
        stepUp = await startAuthentication({ optionsJSON });
      }
      // The hash this page showed: a plan changed since is refused by the server.
      await api.post(`/console/api/plans/${encodeURIComponent(plan.id)}/review`, {
        decision,
        planHash: plan.hash,
        reviewToken: page.reviewToken,
        comment,
        ...(stepUp ? { stepUp } : {}),
      });
      onDone(decision === 'approve' ? 'Your approval was recorded.' : 'Your rejection was recorded.');
    } catch (err) {
      // A refused review spent this page's review token: the page fetches the plan again (and a new token).
      onFailed(err instanceof Error && err.name === 'NotAllowedError' ? 'The security key prompt was cancelled.' : explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="review stack" aria-labelledby="h-review" onSubmit={(e) => e.preventDefault()}>
      <h2 id="h-review">Your review</h2>
      <p>
        You are reviewing plan hash <Hash value={plan.hash} />.
        {page.stepUpRequired && ' Approving it asks for your security key (step-up for this risk).'}
      </p>
      <label for="comment">Comment (optional)</label>
      <textarea
        id="comment"
        rows={3}
        maxLength={2000}
        value={comment}
        onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
      />
      <div class="actions">
        <button type="button" class="primary" disabled={busy} onClick={() => review('approve')}>
          Approve
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => review('reject')}>
          Reject
        </button>
      </div>
    </form>
  );
}

export function PlanPage({ id, session }: { id: string; session: Session }) {
  const { data, error, reload } = useData<PlanPageData>(`/console/api/plans/${encodeURIComponent(id)}`);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  useEffect(() => {
    if (data) document.title = `${data.plan.intent} — Countersign`;
  }, [data]);
  if (!data)
    return (
      <section>
        <Heading>Plan {id}</Heading>
        <Problem message={error} />
      </section>
    );
  const { plan, tools, admission, eligibility } = data;
  const findings = plan.findings ?? [];
  const execute = async () => {
    setRunError(null);
    try {
      const e = await api.post<{ id: string }>(`/console/api/plans/${encodeURIComponent(plan.id)}/execute`);
      location.hash = `#/executions/${encodeURIComponent(e.id)}`;
    } catch (err) {
      setRunError(explain(err));
    }
  };

  return (
    <article class="plan">
      <Heading>{plan.intent}</Heading>
      <p class="meta">
        <Status status={plan.status} /> <RiskBadge risk={plan.risk} /> in <strong>{plan.environment}</strong> · proposed by{' '}
        <strong>{plan.proposerName ?? plan.proposer}</strong> via <strong>{plan.source}</strong> · {age(plan.createdAt)}
        {plan.expiresAt && ` · expires ${when(plan.expiresAt)}`}
      </p>
      {plan.statusReason && <p class="muted">{plan.statusReason}</p>}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <Problem message={failure ?? error} />
      {plan.unsignedTools && <p class="problem">A tool of this plan lacks the signatures its environment requires (development mode).</p>}

      <section aria-labelledby="h-risk">
        <h2 id="h-risk">
          Risk: <RiskBadge risk={plan.risk} />
        </h2>
        <ul>
          {plan.riskReasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      </section>

      <Steps title="Steps" steps={plan.steps} findings={findings} phase="steps" />
      <Previews previews={plan.previews} status={plan.status} />
      <Steps title="Rollback steps" steps={plan.rollback} findings={findings} phase="rollback" />

      <section aria-labelledby="h-tools">
        <h2 id="h-tools">Tools</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">Version</th>
                <th scope="col">Manifest digest</th>
                <th scope="col">Signed by</th>
              </tr>
            </thead>
            <tbody>
              {tools.map((t) => (
                <tr key={t.name}>
                  <td>{t.name}</td>
                  <td>{t.version ?? '—'}</td>
                  <td>
                    <Hash value={t.digest ?? '—'} />
                    {!t.matches && <span class="problem-inline"> the loaded manifest differs from this one</span>}
                  </td>
                  <td>{t.signers.length > 0 ? t.signers.join(', ') : 'unsigned'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="h-approval">
        <h2 id="h-approval">Approval requirement</h2>
        <ul>
          {(plan.tally?.requirements ?? plan.approval.require.map((r) => ({ ...r, have: 0 }))).map((r) => (
            <li key={r.group}>
              {r.have} of {r.count} from <strong>{r.group}</strong>
            </li>
          ))}
        </ul>
        {plan.tally && plan.tally.missing.length > 0 && <p>Still missing: {plan.tally.missing.join('; ')}</p>}
        {plan.approvals && plan.approvals.length > 0 && (
          <>
            <h3>Reviews so far</h3>
            <ul>
              {plan.approvals.map((a) => (
                <li key={`${a.reviewer}-${a.createdAt}`}>
                  <strong>{a.reviewerName ?? a.reviewer}</strong> {a.decision === 'approve' ? 'approved' : 'rejected'} via {a.channel},{' '}
                  {age(a.createdAt)}
                  {a.planHash !== plan.hash && ' (a different hash: does not count)'}
                  {a.comment && <q>{a.comment}</q>}
                </li>
              ))}
            </ul>
          </>
        )}
        {plan.approval.rules.length > 0 && <p class="muted">Rules: {plan.approval.rules.join(', ')}</p>}
      </section>

      <section aria-labelledby="h-integrity">
        <h2 id="h-integrity">Integrity and admission</h2>
        <dl>
          <dt>Plan hash (SHA-256 of the canonical plan)</dt>
          <dd>
            <Hash value={plan.hash} />
          </dd>
          <dt>Admitted by</dt>
          <dd>
            {admission
              ? `policies ${admission.policies.join(', ') || '(none named)'} · audit entry #${admission.seq} · ${when(admission.ts)} · channel ${admission.channel ?? '—'}`
              : 'no admission entry found'}
          </dd>
          <dt>Plan id</dt>
          <dd>
            <code>{plan.id}</code>
          </dd>
        </dl>
      </section>

      {plan.status === 'pending_approval' &&
        (eligibility.allowed ? (
          <ReviewForm
            page={data}
            onDone={(m) => {
              setFailure(null);
              setNotice(m);
              reload();
            }}
            onFailed={(m) => {
              setNotice(null);
              setFailure(m);
              reload();
            }}
          />
        ) : (
          <section class="cannot" aria-labelledby="h-cannot">
            <h2 id="h-cannot">You cannot approve this plan</h2>
            <p>Signed in as {session.name}. The server would refuse your review because:</p>
            <ul>
              {eligibility.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          </section>
        ))}
      {plan.status === 'approved' && (
        <section aria-labelledby="h-run">
          <h2 id="h-run">Run</h2>
          <p>The plan is approved. Running it mints a single-use grant and queues it for the executor.</p>
          <Problem message={runError} />
          <button type="button" class="primary" onClick={execute}>
            Execute plan
          </button>
        </section>
      )}
      {['executing', 'succeeded', 'failed', 'rolled_back', 'needs_attention'].includes(plan.status) && (
        <p>
          <a href={`#/executions?plan=${encodeURIComponent(plan.id)}`}>See its execution</a>
        </p>
      )}
    </article>
  );
}
