/**
 * The baseline policy set written by `init`: deny by default, roles as groups, and guardrail
 * forbids that no permit can undo (in Cedar a matching forbid always wins).
 *
 * Policy ids come from `@id("...")` annotations (see policy-dir.ts); `@reason("...")` is the
 * sentence a denial carries back to the caller.
 */
const GUARDRAILS = `// Guardrails: forbids that hold whatever the permits say. Countersign refuses to load a policy
// set that lets any of these through (see the canaries in src/policy/canaries.ts).

// Tenant isolation (invariant 18): nothing crosses a tenant boundary, admins included.
@id("tenant-isolation")
@reason("The principal and the resource belong to different tenants.")
forbid (principal, action, resource)
when { principal.tenant != resource.tenant };

// Agents never review (invariants 5 and 6): an agent's approval is not a human countersignature.
// Written as "only humans review" so a principal whose kind is missing or new is refused too.
@id("only-humans-review")
@reason("Only a human can approve or reject a plan.")
forbid (
  principal,
  action in [Countersign::Action::"plan.approve", Countersign::Action::"plan.reject"],
  resource
)
unless { principal has kind && principal.kind == "human" };

// Separation of duties (invariant 5): the proposer never reviews its own plan. A plan whose
// proposer is unknown cannot be reviewed at all, so a missing attribute fails closed.
@id("separation-of-duties")
@reason("The proposer of a plan cannot review it.")
forbid (
  principal,
  action in [Countersign::Action::"plan.approve", Countersign::Action::"plan.reject"],
  resource
)
unless { resource has proposer && resource.proposer != principal };
`;

const ROLES = `// Roles are groups: each of a principal's groups is a parent Countersign::Group::"<name>".
// Nothing is allowed unless one of these permits matches (deny by default, invariant 1), and
// every permit is still subject to the guardrails: tenant isolation, only humans review, and
// separation of duties.

// Admins may do everything inside their own tenant.
@id("role-admin")
permit (principal in Countersign::Group::"admin", action, resource);

// Operators run day-to-day work but do not review plans or issue overrides.
@id("role-operator")
permit (
  principal in Countersign::Group::"operator",
  action in [
    Countersign::Action::"plan.propose",
    Countersign::Action::"plan.read",
    Countersign::Action::"execution.read",
    Countersign::Action::"plan.cancel",
    Countersign::Action::"plan.execute",
    Countersign::Action::"environment.freeze",
    Countersign::Action::"grant.revoke",
    Countersign::Action::"override.revoke"
  ],
  resource
);

// Approvers read and review plans; whether enough of them agreed is the approval rules' job.
@id("role-approvers")
permit (
  principal in Countersign::Group::"approvers",
  action in [
    Countersign::Action::"plan.read",
    Countersign::Action::"execution.read",
    Countersign::Action::"plan.approve",
    Countersign::Action::"plan.reject"
  ],
  resource
);

// Agents propose and run approved work; they never review (see only-humans-review).
@id("role-agent")
permit (
  principal in Countersign::Group::"agent",
  action in [
    Countersign::Action::"plan.propose",
    Countersign::Action::"plan.read",
    Countersign::Action::"execution.read",
    Countersign::Action::"plan.execute"
  ],
  resource
);

// The host operator: init, key rotation, tenant provisioning, policy reload, expiry sweeps,
// taken on the server host through the built-in \`system\` principal. No credential presented
// over the network is ever \`system\` (a code rule refuses these actions to anyone else).
@id("role-system")
permit (
  principal in Countersign::Group::"system",
  action in [
    Countersign::Action::"system.init",
    Countersign::Action::"system.start",
    Countersign::Action::"system.stop",
    Countersign::Action::"tenant.create",
    Countersign::Action::"grant.rotate",
    Countersign::Action::"override.key",
    Countersign::Action::"trust.bootstrap",
    Countersign::Action::"policy.reload",
    Countersign::Action::"plan.expire",
    Countersign::Action::"tool.reload",
    Countersign::Action::"principal.recover-admin",
    Countersign::Action::"policy.upgrade",
    Countersign::Action::"audit.checkpoint",
    Countersign::Action::"store.restore",
    Countersign::Action::"config.reload",
    Countersign::Action::"playbook.reload",
    Countersign::Action::"plan.preview"
  ],
  resource
)
when { principal has authMethod && principal.authMethod == "system" };

// Auditors read everything that leaves a record, and change nothing.
@id("role-auditor")
permit (
  principal in Countersign::Group::"auditor",
  action in [
    Countersign::Action::"plan.read",
    Countersign::Action::"execution.read",
    Countersign::Action::"audit.read"
  ],
  resource
);

// alerts: webhook sources (declared in countersign.yaml, proven by their delivery signature)
// record deliveries and propose plans, and cancel only the plans they proposed. A code rule
// holds them to exactly this whatever else is permitted, and they never review.
@id("role-alert-source")
permit (
  principal,
  action in [Countersign::Action::"alert.receive", Countersign::Action::"alert.plan", Countersign::Action::"plan.propose"],
  resource
)
when { principal has kind && principal.kind == "webhook" };

@id("role-alert-source-cancel")
permit (principal, action == Countersign::Action::"plan.cancel", resource)
when { principal has kind && principal.kind == "webhook" && resource has proposer && resource.proposer == principal };
`;

// ---- chat (issue 14) ----
const CHAT = `// Deciding from chat (docs/notifications.md). A chat account speaks for a principal only after
// that principal linked it with a one-time code, and it is weaker than this server's own sign-in
// (the chat provider holds the session; there is no step-up), so reviews from chat are policy.

// Any human may link or unlink their own chat account (never someone else's).
@id("chat-link-self")
permit (principal, action == Countersign::Action::"chat.link", resource)
when { principal has kind && principal.kind == "human" && resource == principal };

// Deny by default for chat in prod: no review is taken from chat there. To allow some, narrow
// this forbid (a forbid always wins over a permit), e.g. \`&& resource.riskLevel >= 1\`.
@id("chat-reviews-not-in-prod")
@reason("Plans in prod are not reviewed from chat; review this plan in the console.")
forbid (
  principal,
  action in [Countersign::Action::"plan.approve", Countersign::Action::"plan.reject"],
  resource
)
when { context.channel == "chat" }
unless { resource has environment && resource.environment != "prod" };
`;

/** File name → Cedar text, as written to `<dir>/policies/`. */
export const BASELINE_POLICIES: Readonly<Record<string, string>> = Object.freeze({
  'guardrails.cedar': GUARDRAILS,
  'roles.cedar': ROLES,
  'chat.cedar': CHAT,
});
