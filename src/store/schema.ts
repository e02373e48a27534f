/**
 * The database schema as types: a wrong column is a compile error. Times are ISO-8601 UTC text
 * and JSON is text, so both engines store and compare them identically.
 */
export interface Database {
  tenants: { id: string; name: string; created_at: string };
  environments: { tenant_id: string; name: string; frozen: number; created_at: string };
  principals: {
    tenant_id: string;
    id: string;
    name: string;
    kind: 'human' | 'agent';
    groups: string;
    disabled: number;
    created_at: string;
    name_key: string | null;
  };
  api_keys: {
    id: string;
    tenant_id: string;
    principal_id: string;
    secret_hash: string;
    description: string;
    created_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
  };
  plans: {
    tenant_id: string;
    id: string;
    environment: string;
    intent: string;
    document: string;
    hash: string;
    risk: string;
    risk_reasons: string;
    status: string;
    status_reason: string | null;
    source: string;
    proposer_id: string;
    created_at: string;
    updated_at: string;
    expires_at: string | null;
    approval: string;
    seal: string | null;
    /** observability: the proposing request's W3C traceparent (0013_traces); null without tracing. */
    trace_context?: string | null;
  };
  approvals: {
    id: string;
    tenant_id: string;
    plan_id: string;
    reviewer_id: string;
    reviewer_groups: string;
    decision: 'approve' | 'reject';
    plan_hash: string;
    comment: string;
    channel: string;
    created_at: string;
    seal: string | null;
  };
  executions: {
    id: string;
    tenant_id: string;
    plan_id: string;
    environment: string;
    grant_jti: string;
    grant_token: string;
    status: string;
    reason: string | null;
    requested_by: string;
    override_id: string | null;
    lease_owner: string | null;
    lease_expires_at: string | null;
    attempt: number;
    event_seq?: number;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
  };
  execution_steps: {
    execution_id: string;
    tenant_id: string;
    phase: string;
    idx: number;
    tool: string;
    action: string;
    status: string;
    attempts: number;
    exit_code: number | null;
    stdout: string;
    stderr: string;
    truncated: number;
    error: string | null;
    started_at: string | null;
    finished_at: string | null;
  };
  execution_events: { execution_id: string; tenant_id: string; seq: number; ts: string; type: string; data: string };
  grants: {
    jti: string;
    tenant_id: string;
    plan_id: string;
    key_id: string;
    issued_at: string;
    expires_at: string;
    consumed_at: string | null;
    execution_id: string | null;
    revoked_at: string | null;
    revoke_reason: string | null;
  };
  freezes: { tenant_id: string; scope: string; reason: string; actor: string; created_at: string };
  trusted_keys: {
    key_id: string;
    public_key: string;
    name: string;
    added_by: string;
    added_tenant: string;
    added_at: string;
    removed_at: string | null;
    removed_by: string | null;
    remove_reason: string | null;
  };
  overrides: {
    id: string;
    tenant_id: string;
    environment: string;
    document: string;
    key_id: string;
    signature: string;
    nonce: string;
    reason: string;
    issued_by: string;
    issued_at: string;
    expires_at: string;
    consumed_at: string | null;
    execution_id: string | null;
    revoked_at: string | null;
    revoked_by: string | null;
    revoke_reason: string | null;
  };
  audit_log: {
    seq: number;
    ts: string;
    tenant_id: string;
    actor: string;
    action: string;
    outcome: string;
    resource: string;
    details: string;
    prev_hash: string;
    hash: string;
  };
  audit_head: { id: number; seq: number; hash: string };
  audit_checkpoints: { seq: number; head_hash: string; ts: string; key_id: string; signature: string };
  /** Checkpoints of the audit tree cosigned by witnesses (0016_witnessed). */
  witnessed_checkpoints: { size: number; note: string; witnesses: string; created_at: string };
  /** One row: the installation id init wrote, also recorded in the data directory's config. */
  installation: { singleton: number; id: string; engine: string; created_at: string };
  // alerts (0011_alerts)
  webhook_deliveries: { tenant_id: string; source: string; delivery_id: string; received_at: string };
  alert_groups: {
    tenant_id: string;
    source: string;
    group_key: string;
    playbook: string;
    state: 'open' | 'closed';
    plan_id: string | null;
    fingerprints: string;
    reason: string | null;
    updated_at: string;
  };
  alert_plans: {
    plan_id: string;
    tenant_id: string;
    source: string;
    group_key: string;
    playbook: string;
    plan_hash: string;
    origin: string;
    notes: string;
    created_at: string;
  };
  model_usage: { tenant_id: string; day: string; tokens: number | string | bigint; cost_micros: number | string | bigint };
  // ---- notifications and chat (issue 14) ----
  notification_outbox: {
    id: string;
    tenant_id: string;
    kind: string;
    subject: string;
    dedup_key: string;
    payload: string;
    created_at: string;
    expanded_at: string | null;
  };
  notification_deliveries: {
    id: string;
    tenant_id: string;
    event_id: string;
    /** Orders deliveries of one subject on one channel (an edit never overtakes its post). */
    seq: number;
    channel: string;
    subject: string;
    status: 'pending' | 'sent' | 'dead';
    attempts: number;
    next_attempt_at: string;
    lease_until: string | null;
    last_error: string | null;
    created_at: string;
    sent_at: string | null;
  };
  chat_links: {
    tenant_id: string;
    platform: string;
    chat_user_id: string;
    principal_id: string;
    chat_user_name: string;
    created_at: string;
  };
  chat_codes: {
    code_hash: string;
    tenant_id: string;
    purpose: 'link' | 'approve' | 'reject';
    principal_id: string;
    platform: string | null;
    chat_user_id: string | null;
    channel: string | null;
    plan_id: string | null;
    plan_hash: string | null;
    created_at: string;
    expires_at: string;
    used_at: string | null;
    revoked_at: string | null;
  };
  chat_messages: {
    tenant_id: string;
    plan_id: string;
    channel: string;
    platform: string;
    chat_id: string;
    message_id: string;
    created_at: string;
  };
  chat_comment_drafts: {
    tenant_id: string;
    plan_id: string;
    platform: string;
    chat_user_id: string;
    comment: string;
    created_at: string;
  };
  chat_replays: { id: string; seen_at: string };
  // --- reviewer console (issue 13) ---
  console_sessions: {
    id_hash: string;
    tenant_id: string;
    principal_id: string;
    auth_method: string;
    key_id: string | null;
    groups: string;
    kind: string;
    csrf_token: string;
    created_at: string;
    last_seen_at: string;
    expires_at: string;
    ended_at: string | null;
    step_up_challenge: string | null;
    step_up_plan_hash: string | null;
    step_up_issued_at: string | null;
  };
  console_review_tokens: { token_hash: string; session_hash: string; plan_id: string; plan_hash: string; created_at: string };
  console_sign_ins: { state_hash: string; code_verifier: string; nonce: string; created_at: string };
  webauthn_credentials: {
    id: string;
    tenant_id: string;
    principal_id: string;
    name: string;
    public_key: string;
    counter: number;
    transports: string;
    created_at: string;
  };
  // ---- replicas: request budgets shared by every API replica (migration 0014_replicas) ----
  rate_windows: { key: string; window_start: string; count: number; expires_at: string };
  // ---- previews (issue 17) ----
  plan_previews: {
    tenant_id: string;
    plan_id: string;
    plan_hash: string;
    state: string;
    results: string | null;
    lease_owner: string | null;
    lease_expires_at: string | null;
    attempt: number;
    max_risk: string;
    created_at: string;
    updated_at: string;
  };
}
