/**
 * Every error code Countersign can return, with its HTTP status and CLI exit code.
 * This table is the single source: the API maps errors through it, the CLI exits with
 * `exit`, and docs/errors.md is checked against it by a test.
 */
export const ERROR_CODES = {
  // 400 — the request is malformed or outside a schema
  BAD_REQUEST: { status: 400, exit: 2, summary: 'The request is malformed.' },
  INVALID_JSON: { status: 400, exit: 2, summary: 'The body is not valid JSON.' },
  VALIDATION_FAILED: { status: 400, exit: 2, summary: 'A field is missing or outside its schema.' },
  UNKNOWN_TOOL: { status: 400, exit: 2, summary: 'A step names a tool that is not loaded.' },
  UNKNOWN_ACTION: { status: 400, exit: 2, summary: 'A step names an action its tool does not have.' },
  UNKNOWN_ENVIRONMENT: { status: 400, exit: 2, summary: 'The environment does not exist in this tenant.' },
  NOT_CANONICALIZABLE: { status: 400, exit: 2, summary: 'The plan cannot be put in RFC 8785 canonical form.' },
  CONTEXT_CONFLICT: {
    status: 400,
    exit: 2,
    summary: 'The request names a tenant or environment that conflicts with the server-side context.',
  },
  ARGUMENT_REFUSED: {
    status: 400,
    exit: 2,
    summary: 'An input value cannot be rendered into argv safely (a leading dash, a NUL byte, or outside the schema).',
  },
  PATH_OUTSIDE_ROOTS: { status: 400, exit: 2, summary: 'A path input resolves outside the roots its sandbox profile allows.' },
  // 401 / 403 — identity and authorization
  UNAUTHENTICATED: { status: 401, exit: 4, summary: 'No valid credential was presented.' },
  POLICY_DENIED: { status: 403, exit: 5, summary: 'Policy does not permit this action.' },
  SCRIPT_REFUSED: {
    status: 403,
    exit: 5,
    summary: 'Static analysis of a script step found a construct that is refused; see the findings.',
  },
  SELF_APPROVAL: { status: 403, exit: 5, summary: 'The proposer of a plan cannot review it.' },
  EGRESS_DENIED: { status: 403, exit: 5, summary: "A network destination is not in the step's egress allowlist." },
  GRANT_INVALID: { status: 403, exit: 5, summary: 'The grant is forged, expired, for another plan, or not signed by a trusted grant key.' },
  GRANT_REPLAYED: { status: 409, exit: 7, summary: 'The grant was already used; a grant runs one execution once.' },
  GRANT_REVOKED: { status: 403, exit: 5, summary: 'The grant was revoked.' },
  FROZEN: { status: 423, exit: 7, summary: 'A kill switch freezes this tenant or environment; nothing runs until unfrozen.' },
  TOOL_UNTRUSTED: {
    status: 403,
    exit: 5,
    summary:
      'A tool manifest lacks the valid signatures from trusted publisher keys its environment requires (or one of its signatures is bad).',
  },
  OVERRIDE_INVALID: {
    status: 403,
    exit: 5,
    summary: 'The override is unknown, forged, altered, or not signed by the override key.',
  },
  OVERRIDE_EXPIRED: { status: 403, exit: 5, summary: 'The override has expired.' },
  OVERRIDE_REVOKED: { status: 403, exit: 5, summary: 'The override was revoked.' },
  OVERRIDE_OUT_OF_SCOPE: {
    status: 403,
    exit: 5,
    summary: "The plan's environment, or one of its steps' tool or action, is outside the override's scope.",
  },
  OVERRIDE_REPLAYED: { status: 409, exit: 7, summary: 'The override was already used; an override authorizes one execution once.' },
  // 404 / 405 / 408 / 409 / 413 / 414 / 415 / 429 / 431
  NOT_FOUND: { status: 404, exit: 6, summary: 'No such resource in this tenant, or no such route.' },
  METHOD_NOT_ALLOWED: { status: 405, exit: 2, summary: 'The path exists, but not with this method; see the Allow header.' },
  REQUEST_TIMEOUT: { status: 408, exit: 2, summary: 'The request did not arrive in time.' },
  PLAN_INVALID_TRANSITION: { status: 409, exit: 7, summary: 'The plan cannot move to that status from its current one.' },
  PLAN_HASH_MISMATCH: { status: 409, exit: 7, summary: 'The plan hash given, or recomputed from storage, does not match.' },
  PLAN_EXPIRED: { status: 409, exit: 7, summary: 'The plan passed its expiry without a decision; propose it again.' },
  APPROVALS_UNSATISFIED: {
    status: 409,
    exit: 7,
    summary: "The plan's approval requirement is not met by valid reviews of its current content.",
  },
  SEAL_INVALID: {
    status: 409,
    exit: 7,
    summary: 'A stored fact the decision to run depends on (risk, approval requirement, expiry, a review) is not what the server sealed.',
  },
  TOOL_CHANGED: { status: 409, exit: 7, summary: 'A tool manifest changed since the plan was proposed; propose it again.' },
  CONFLICT: { status: 409, exit: 7, summary: 'The resource already exists or changed concurrently.' },
  BODY_TOO_LARGE: { status: 413, exit: 2, summary: 'The request body exceeds the configured limit.' },
  URI_TOO_LONG: { status: 414, exit: 2, summary: 'The URL, or one of its path segments, is longer than the server accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2, summary: 'The body must be application/json.' },
  RATE_LIMITED: { status: 429, exit: 8, summary: 'Too many requests; retry after the given delay.' },
  HEADERS_TOO_LARGE: { status: 431, exit: 2, summary: 'The request headers are larger than the server accepts.' },
  // 5xx — the server cannot do it safely
  AUDIT_WRITE_FAILED: { status: 503, exit: 9, summary: 'The audit entry could not be written, so the action did not happen.' },
  POLICY_UNAVAILABLE: { status: 503, exit: 9, summary: 'The policy engine could not decide, so the request is denied.' },
  STORE_UNAVAILABLE: { status: 503, exit: 9, summary: 'The database could not be reached.' },
  SANDBOX_UNAVAILABLE: { status: 503, exit: 9, summary: 'The sandbox is missing or could not be set up, so the step did not run.' },
  TOOL_INTEGRITY: {
    status: 409,
    exit: 7,
    summary: 'The tool executable does not match the sha256 its manifest pins, so the step did not run.',
  },
  SECRET_UNAVAILABLE: { status: 503, exit: 9, summary: 'A secret the step needs could not be read, so the step did not run.' },
  INTERNAL: { status: 500, exit: 10, summary: 'An unexpected error; details are in the server log.' },
  // local (CLI / startup)
  CONFIG_INVALID: { status: 500, exit: 3, summary: 'The configuration is invalid.' },
  ALREADY_INITIALIZED: { status: 409, exit: 3, summary: 'The data directory already exists.' },
  NOT_INITIALIZED: { status: 500, exit: 3, summary: 'The data directory, or the store init created for it, does not exist.' },
  STORE_BINDING_MISMATCH: {
    status: 500,
    exit: 3,
    summary: 'The data directory is bound to another store: a different engine, or a database holding another installation id.',
  },
  MANIFEST_INVALID: { status: 500, exit: 3, summary: 'A tool manifest is invalid.' },
  AUDIT_CHAIN_BROKEN: { status: 500, exit: 1, summary: 'The audit log failed verification.' },
  SERVER_UNREACHABLE: { status: 503, exit: 9, summary: 'The Countersign server could not be reached.' },
  PORT_IN_USE: { status: 500, exit: 3, summary: 'The address the API should listen on is taken by another process.' },
  // alerts: webhook intake, playbooks, the LLM planner and model reviewers
  WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    exit: 4,
    summary: 'A webhook delivery is unsigned, or no signature matches any secret of its source.',
  },
  WEBHOOK_STALE: { status: 401, exit: 4, summary: "A webhook delivery's timestamp is outside its source's replay window." },
  WEBHOOK_REPLAYED: { status: 409, exit: 7, summary: 'A webhook delivery id was already received from this source.' },
  PLAYBOOK_INVALID: { status: 500, exit: 3, summary: 'A playbook is invalid, unsigned, or names a tool field it may not fill.' },
  PLANNER_REFUSED: {
    status: 422,
    exit: 7,
    summary: "The planner's output was refused: it left the playbook's templates, schemas, tenant or environment.",
  },
  MODEL_UNAVAILABLE: { status: 503, exit: 9, summary: 'A model could not be reached or answered out of its format.' },
  MODEL_BUDGET_EXHAUSTED: { status: 429, exit: 8, summary: "The tenant's daily model token or cost budget is spent." },
  // ---- chat (issue 14) ----
  CHAT_SIGNATURE_INVALID: {
    status: 401,
    exit: 4,
    summary: 'A chat callback is not signed by the configured Slack app or Telegram bot, or its timestamp is outside the 5-minute window.',
  },
  CHAT_REPLAYED: { status: 409, exit: 6, summary: 'A chat callback (Slack request or Telegram update) was already received once.' },
  CHAT_NOT_LINKED: {
    status: 403,
    exit: 5,
    summary: 'The chat account is not linked to a Countersign principal; run `countersign chat link` first.',
  },
  CHAT_CODE_INVALID: {
    status: 403,
    exit: 5,
    summary: 'The chat code is unknown, used, expired, replaced, or belongs to another reviewer.',
  },
  // --- reviewer console (issue 13) ---
  CSRF_REFUSED: {
    status: 403,
    exit: 5,
    summary: 'A console state change came from another origin or without the session’s anti-forgery token.',
  },
  REVIEW_REPLAYED: {
    status: 409,
    exit: 7,
    summary: 'This console review was already submitted (or its page is stale): reload the plan and review it again.',
  },
  CONSOLE_SIGN_IN_REFUSED: { status: 403, exit: 5, summary: 'Only human principals may sign in to the console.' },
  STEP_UP_REQUIRED: {
    status: 403,
    exit: 5,
    summary:
      'Approving this plan needs a WebAuthn assertion bound to its hash (a registered security key or passkey): approve it in the console, not from chat.',
  },
  WITNESS_PENDING: {
    status: 409,
    exit: 7,
    summary:
      "The plan's approvals are not yet in an audit checkpoint its witnesses cosigned (`audit.holdGrantsForRisks`); retry in a few seconds.",
  },
  // ---- replicas: shared request budgets ----
  RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    exit: 9,
    summary:
      'The request budget shared by the API replicas could not be read for a reason other than the database being away (that is STORE_UNAVAILABLE), so the request was refused, not let through unbudgeted; retry.',
  },
  // ---- previews (issue 17) ----
  PREVIEW_UNSAFE: {
    status: 500,
    exit: 3,
    summary:
      "A tool manifest's preview could write (writable paths, destructive), would see the step's own secrets, or names an action that is missing or has a preview itself; it is refused at signing and at load.",
  },
  PLAN_STALE: {
    status: 409,
    exit: 7,
    summary: "What a step's preview reads changed since the plan was reviewed: the step did not run and the plan went back for review.",
  },
} as const satisfies Record<string, { status: number; exit: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
