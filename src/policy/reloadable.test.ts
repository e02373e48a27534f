import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCedarAuthorizer, writeBaselinePolicies } from './policy-dir.ts';
import { ReloadableAuthorizer } from './reloadable.ts';
import type { AuthzRequest } from './types.ts';

const read: AuthzRequest = {
  principal: { tenantId: 't', id: 'p', name: 'p', kind: 'human', groups: ['auditor'], authMethod: 'api_key' },
  action: 'plan.read',
  resource: { type: 'Plan', id: 'x', tenantId: 't', environment: 'dev', proposerId: 'q' },
};

test('a reload that fails its canaries keeps the previous policy set and names the canary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-reload-'));
  try {
    writeBaselinePolicies(dir);
    const authz = new ReloadableAuthorizer(() => loadCedarAuthorizer(dir));
    assert.equal(authz.authorize(read).allow, true);
    writeFileSync(join(dir, 'policies', 'oops.cedar'), 'permit (principal, action, resource);\n');
    const r = authz.reload();
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /must always be denied: "principal with no group/);
    assert.equal(authz.authorize(read).allow, true);
    writeFileSync(join(dir, 'policies', 'oops.cedar'), 'permit (principal, action resource);\n');
    assert.equal(authz.reload().ok, false);
    rmSync(join(dir, 'policies', 'oops.cedar'));
    assert.deepEqual(authz.reload(), { ok: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prepare checks a new set without switching to it until commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-reload-'));
  try {
    writeBaselinePolicies(dir);
    const authz = new ReloadableAuthorizer(() => loadCedarAuthorizer(dir));
    writeFileSync(
      join(dir, 'policies', 'no-auditors.cedar'),
      '@id("no-auditors")\nforbid (principal in Countersign::Group::"auditor", action, resource);\n',
    );
    const prepared = authz.prepare();
    assert.equal(prepared.ok, true);
    assert.equal(authz.authorize(read).allow, true, 'not switched before commit');
    if (prepared.ok) prepared.commit();
    assert.equal(authz.authorize(read).allow, false, 'switched after commit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
