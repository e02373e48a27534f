/**
 * The Cedar schema Countersign authorizes against, and the names the entity builder uses.
 *
 * Entity model (what `entities.ts` sends for each AuthzRequest):
 * - principal `Countersign::Principal::"<id>"`, attrs {tenant, kind, name, authMethod}, parents
 *   `Countersign::Group::"<g>"` for each of its groups: roles are groups.
 * - action `Countersign::Action::"<action>"`, one per ACTIONS entry, context `{}`.
 * - resource `Countersign::<ResourceRef.type>::"<id>"` with attrs tenant, and when known
 *   environment, risk, riskLevel, source, proposer. Absent facts are absent attributes, never
 *   "" — strict validation then forces policies to test `has`, and the guardrails treat an
 *   absent fact as a reason to deny.
 * - `proposer` is an entity reference to the proposing Principal, so separation of duties is
 *   `resource.proposer == principal` — no second copy of the id to keep in sync.
 */
export const CEDAR_NAMESPACE = 'Countersign';
export const PRINCIPAL_TYPE = `${CEDAR_NAMESPACE}::Principal`;
export const GROUP_TYPE = `${CEDAR_NAMESPACE}::Group`;
export const ACTION_TYPE = `${CEDAR_NAMESPACE}::Action`;

/** The file name of the schema inside a policy directory. */
export const SCHEMA_FILE = 'schema.cedarschema';

export const BASELINE_SCHEMA = `// Countersign's Cedar schema. Policies are validated against it strictly when they are loaded,
// and every request is validated against it before a decision, so a policy naming a missing
// attribute or a wrong type is refused at startup instead of silently never matching.
namespace Countersign {
  // A role. A principal's groups become its parents, so a role check reads
  // \`principal in Countersign::Group::"approvers"\`. Groups are not per tenant: tenant
  // isolation is the job of the \`tenant-isolation\` forbid.
  entity Group;

  // The caller, or the principal acted on by principal.* and key.* actions. kind, name and
  // authMethod are always set for the caller; a principal that is only the resource carries
  // just its tenant, hence optional.
  entity Principal in [Group] = {
    tenant: String,
    kind?: String,        // "human" | "agent" | "system" | "webhook"
    name?: String,
    authMethod?: String,  // "api_key" | "oidc" | "system" | "webhook_signature"
  };

  // Every other resource has one shape, filled from stored records (invariant 3). An
  // attribute is absent when the record does not have that fact.
  entity Plan, Execution, Tenant, Environment, Override = {
    tenant: String,
    environment?: String,
    risk?: String,         // "low" | "medium" | "high" | "critical"
    riskLevel?: Long,      // the same as 0..3, so policies can compare: resource.riskLevel >= 2
    source?: String,       // "api" | "mcp" | "cli" | "webhook" | "planner"
    proposer?: Principal,  // who proposed the plan, for separation of duties
  };

  // Which resource types each action may be asked about. A read on a Tenant or Environment is
  // a listing inside it. A request outside this list is an error in the caller, and the engine
  // refuses it (POLICY_UNAVAILABLE, fail closed).
  action "plan.propose" appliesTo { principal: Principal, resource: [Plan, Environment, Tenant] };
  action "plan.read" appliesTo { principal: Principal, resource: [Plan, Tenant, Environment] };
  // Reviews see the interface they came through (\`context.channel\`: "api", "cli", "web",
  // "chat", …), so which channels may decide which plans is policy (see chat.cedar).
  action "plan.approve" appliesTo { principal: Principal, resource: Plan, context: { channel: String } };
  action "plan.reject" appliesTo { principal: Principal, resource: Plan, context: { channel: String } };
  action "plan.cancel" appliesTo { principal: Principal, resource: Plan };
  action "plan.execute" appliesTo { principal: Principal, resource: [Plan, Execution] };
  action "execution.read" appliesTo { principal: Principal, resource: [Execution, Plan, Tenant, Environment] };
  action "audit.read" appliesTo { principal: Principal, resource: [Tenant, Plan, Execution] };
  action "principal.create" appliesTo { principal: Principal, resource: Tenant };
  action "principal.read" appliesTo { principal: Principal, resource: [Principal, Tenant] };
  action "principal.disable" appliesTo { principal: Principal, resource: Principal };
  action "key.create" appliesTo { principal: Principal, resource: Principal };
  action "key.revoke" appliesTo { principal: Principal, resource: Principal };
  action "grant.revoke" appliesTo { principal: Principal, resource: [Execution, Plan] };
  action "override.issue" appliesTo { principal: Principal, resource: [Override, Plan, Environment] };
  action "override.use" appliesTo { principal: Principal, resource: [Override, Plan] };
  action "override.revoke" appliesTo { principal: Principal, resource: Override };
  action "trust.change" appliesTo { principal: Principal, resource: Tenant };
  action "environment.freeze" appliesTo { principal: Principal, resource: [Environment, Tenant] };

  // alerts: a webhook source's delivery (src/operations/alerts.ts).
  action "alert.receive" appliesTo { principal: Principal, resource: Tenant };
  // alerts: what became of an alert group (the plan proposed with its origin, or the refusal).
  action "alert.plan" appliesTo { principal: Principal, resource: Tenant };

  // Host operator actions, taken on the server host by the \`system\` principal (authMethod
  // "system", group "system"); Countersign refuses them to any credential from the network.
  action "system.init" appliesTo { principal: Principal, resource: Tenant };
  action "system.start" appliesTo { principal: Principal, resource: Tenant };
  action "system.stop" appliesTo { principal: Principal, resource: Tenant };
  action "tenant.create" appliesTo { principal: Principal, resource: Tenant };
  action "grant.rotate" appliesTo { principal: Principal, resource: Tenant };
  action "override.key" appliesTo { principal: Principal, resource: Tenant };
  action "trust.bootstrap" appliesTo { principal: Principal, resource: Tenant };
  action "policy.reload" appliesTo { principal: Principal, resource: Tenant };
  action "plan.expire" appliesTo { principal: Principal, resource: Plan };
  action "tool.reload" appliesTo { principal: Principal, resource: Tenant };
  action "principal.recover-admin" appliesTo { principal: Principal, resource: Principal };
  action "policy.upgrade" appliesTo { principal: Principal, resource: Tenant };
  action "audit.checkpoint" appliesTo { principal: Principal, resource: Tenant };
  action "store.restore" appliesTo { principal: Principal, resource: Tenant };
  // ---- replicas: countersign.yaml and playbooks re-read on SIGHUP ----
  action "config.reload" appliesTo { principal: Principal, resource: Tenant };
  action "playbook.reload" appliesTo { principal: Principal, resource: Tenant };
  // ---- previews (issue 17) ----
  action "plan.preview" appliesTo { principal: Principal, resource: Plan };

  // ---- chat (issue 14) ----
  // Link (or unlink) a chat account to the principal: the resource is the principal itself.
  action "chat.link" appliesTo { principal: Principal, resource: Principal };
}
`;
