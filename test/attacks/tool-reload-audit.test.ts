// Invariants 11 and 13 for tool reload: if the tool.reload audit entry cannot be written, the new
// tool set does not go live; an unsigned manifest never goes live by reload either.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ToolReloader } from '../../src/server/tool-reload.ts';
import { ENGINES } from '../support/engines.ts';
import { rawExec } from '../support/raw-db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signManifestFile } from '../support/tools.ts';

const BREAK_SQLITE = `create trigger audit_disk_full before insert on audit_log begin select raise(abort, 'disk full'); end;`;
const BREAK_PG = `
  create or replace function audit_disk_full() returns trigger as $$ begin raise exception 'disk full'; end $$ language plpgsql;
  create trigger audit_disk_full before insert on audit_log for each row execute function audit_disk_full();`;
const FIX_SQLITE = 'drop trigger audit_disk_full;';
const FIX_PG = 'drop trigger audit_disk_full on audit_log; drop function audit_disk_full();';

const TOOL = (sha: string) => `apiVersion: countersign/v1
kind: Tool
name: again
version: "1.0.0"
executable: { path: /bin/echo, sha256: ${sha} }
actions:
  say: { argv: ["again"], risk: low }
`;

for (const engine of ENGINES) {
  describe(`tool reload on ${engine.name}: audit before effect, signed only`, { skip: engine.skip }, () => {
    let s: TestServer;
    let reloader: ToolReloader;
    const lines: string[] = [];
    before(async () => {
      s = await startTestServer(engine);
      reloader = new ToolReloader({ pipeline: s.ctx.pipeline, process: 'api', log: (l) => lines.push(l) });
    });
    after(async () => s?.close());

    test('an unsigned new manifest is refused by reload and never becomes visible', async () => {
      const sha = s.ctx.tools.get('echo')!.manifest.executable.sha256;
      writeFileSync(join(s.dir, 'tools', 'again.yaml'), TOOL(sha));
      const r = await reloader.reload();
      assert.equal(r.ok, false);
      assert.equal(s.ctx.tools.get('again'), undefined);
      assert.match(lines.at(-1)!, /tool reload REFUSED \(api\).*again\.yaml: needs 1 valid signature/);
    });

    test('a reload whose audit entry cannot be written keeps the old set; once audit works it goes live', async () => {
      signManifestFile(s.dir, join(s.dir, 'tools', 'again.yaml'));
      await rawExec(s, BREAK_SQLITE, BREAK_PG);
      try {
        const r = await reloader.reload();
        assert.equal(r.ok, false);
        assert.match(lines.at(-1)!, /REFUSED \(api\), previous tool set kept: the audit entry could not be written/);
        assert.equal(s.ctx.tools.get('again'), undefined, 'the set switched without its audit entry');
        const catalog = await s.request('GET', '/v1/tools');
        assert.ok(!catalog.body.tools.some((t: { name: string }) => t.name === 'again'));
      } finally {
        await rawExec(s, FIX_SQLITE, FIX_PG);
      }
      const ok = await reloader.reload();
      assert.deepEqual(ok, { ok: true, tools: ['again', 'echo', 'shell'] });
      assert.ok(s.ctx.tools.get('again'));
      // The services share the one registry: the catalog and proposals see the new tool at once.
      const catalog = await s.request('GET', '/v1/tools');
      assert.ok(catalog.body.tools.some((t: { name: string }) => t.name === 'again'));
      const plan = await s.request('POST', '/v1/plans', {
        body: { intent: 'again', environment: 'dev', steps: [{ tool: 'again', action: 'say', input: {} }] },
      });
      assert.equal(plan.status, 201, JSON.stringify(plan.body));
    });

    test('reloads asked for at once run one after the other, each audited', async () => {
      const results = await Promise.all([reloader.reload(), reloader.reload(), reloader.reload()]);
      assert.deepEqual(
        results.map((r) => r.ok),
        [true, true, true],
      );
    });
  });
}
