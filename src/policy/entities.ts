import type { CedarValueJson, EntityJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import { RISK_LEVELS } from '../tools/index.ts';
import { ACTION_TYPE, CEDAR_NAMESPACE, GROUP_TYPE, PRINCIPAL_TYPE } from './schema.ts';
import type { AuthzRequest, Principal, ResourceRef } from './types.ts';

/** One Cedar request: the uids and the entity slice the policies may look at. */
export interface CedarRequest {
  principal: TypeAndId;
  action: TypeAndId;
  resource: TypeAndId;
  entities: EntityJson[];
}

/** Thrown for a request that cannot be turned into entities; the authorizer denies on it. */
export class MalformedAuthzRequest extends Error {
  override readonly name = 'MalformedAuthzRequest';
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new MalformedAuthzRequest(`${field} is missing`);
  return value;
}

function principalEntity(p: Principal, uid: TypeAndId): EntityJson {
  return {
    uid,
    attrs: { tenant: p.tenantId, kind: p.kind, name: p.name, authMethod: p.authMethod },
    parents: p.groups.map((g) => ({ type: GROUP_TYPE, id: requireText(g, 'principal group') })),
  };
}

function resourceAttrs(r: ResourceRef): Record<string, CedarValueJson> {
  const attrs: Record<string, CedarValueJson> = { tenant: r.tenantId };
  if (r.environment !== undefined) attrs.environment = r.environment;
  if (r.risk !== undefined) {
    const level = RISK_LEVELS.indexOf(r.risk);
    // An unknown risk word must not reach policies as "no risk": refuse the request.
    if (level < 0) throw new MalformedAuthzRequest(`resource risk "${String(r.risk)}" is not a risk level`);
    attrs.risk = r.risk;
    attrs.riskLevel = level;
  }
  if (r.source !== undefined) attrs.source = r.source;
  if (r.proposerId !== undefined)
    attrs.proposer = { __entity: { type: PRINCIPAL_TYPE, id: requireText(r.proposerId, 'resource proposerId') } };
  return attrs;
}

/**
 * Builds the Cedar request for an AuthzRequest. Pure; throws MalformedAuthzRequest on a
 * request that would make policies evaluate over missing facts (empty ids or tenants).
 */
export function toCedarRequest(request: AuthzRequest): CedarRequest {
  const { principal: p, resource: r, action } = request;
  requireText(p.id, 'principal id');
  requireText(p.tenantId, 'principal tenantId');
  requireText(r.id, 'resource id');
  requireText(r.tenantId, 'resource tenantId');
  requireText(action, 'action');

  const principalUid = { type: PRINCIPAL_TYPE, id: p.id };
  const resourceUid = { type: `${CEDAR_NAMESPACE}::${requireText(r.type, 'resource type')}`, id: r.id };
  const entities = [principalEntity(p, principalUid)];

  if (resourceUid.type === PRINCIPAL_TYPE && r.id === p.id) {
    // The caller acting on itself: one entity (Cedar refuses duplicates). Its tenant must agree,
    // or tenant isolation would be judged on the wrong record.
    if (r.tenantId !== p.tenantId) throw new MalformedAuthzRequest('resource is the calling principal but names another tenant');
  } else if (resourceUid.type === PRINCIPAL_TYPE) {
    // A principal that is only the resource: the schema's Principal shape, tenant alone.
    entities.push({ uid: resourceUid, attrs: { tenant: r.tenantId }, parents: [] });
  } else {
    entities.push({ uid: resourceUid, attrs: resourceAttrs(r), parents: [] });
  }

  return { principal: principalUid, action: { type: ACTION_TYPE, id: action }, resource: resourceUid, entities };
}
