// Issue 14: the chat and outbox tables behave the same on SQLite and PostgreSQL: codes are used
// once, links are one account per principal and platform, replays are seen once, a delivery is
// claimed by one worker at a time and waits behind an earlier one of the same subject.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemRuntime } from '../src/runtime.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import type { Store } from '../src/store/index.ts';
import { ENGINES } from './support/engines.ts';
import { freshStore } from './support/store.ts';

for (const engine of ENGINES) {
  describe(`chat and outbox store on ${engine.name}`, { skip: engine.skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    let tenant: string;
    before(async () => {
      ({ store, close } = await freshStore(engine));
      tenant = (await provisionTenant(store, systemRuntime, 'chat-tenant')).tenantId;
    });
    after(() => close?.());

    test('a code is consumed once, never after expiry or revocation', async () => {
      const scope = store.scope(tenant);
      const at = '2026-12-07T00:00:00.000Z';
      const code = (h: string, expires: string) => ({
        code_hash: h,
        purpose: 'approve' as const,
        principal_id: 'prn_a',
        platform: 'slack',
        chat_user_id: 'U1',
        channel: 'c',
        plan_id: 'pln_1',
        plan_hash: 'h',
        created_at: at,
        expires_at: expires,
      });
      await scope.chat.insertCode(code('h1', '2026-12-08T00:00:00.000Z'));
      await scope.chat.insertCode(code('h2', '2026-12-06T00:00:00.000Z'));
      await scope.chat.insertCode(code('h3', '2026-12-08T00:00:00.000Z'));
      assert.equal(await scope.chat.consumeCode('h1', at), true);
      assert.equal(await scope.chat.consumeCode('h1', at), false, 'second use');
      assert.equal(await scope.chat.consumeCode('h2', at), false, 'expired');
      await scope.chat.revokePlanButtons('pln_1', 'c', at);
      assert.equal(await scope.chat.consumeCode('h3', at), false, 'replaced by a newer message');
      assert.equal((await store.chatLookup.code('h1'))?.tenant_id, tenant);
      assert.equal(await store.scope('other').chat.consumeCode('h3', at), false, 'another tenant finds nothing');
    });

    test('one chat account per principal and platform; replays are seen once', async () => {
      const scope = store.scope(tenant);
      const at = '2026-12-07T00:00:00.000Z';
      await scope.chat.link({ platform: 'slack', chat_user_id: 'U1', principal_id: 'prn_a', chat_user_name: 'a', created_at: at });
      await scope.chat.link({ platform: 'slack', chat_user_id: 'U2', principal_id: 'prn_a', chat_user_name: 'a2', created_at: at });
      assert.equal(await scope.chat.linkOf('slack', 'U1'), undefined);
      assert.equal((await scope.chat.linkOf('slack', 'U2'))?.principal_id, 'prn_a');
      await scope.chat.link({ platform: 'slack', chat_user_id: 'U2', principal_id: 'prn_b', chat_user_name: 'b', created_at: at });
      assert.equal((await scope.chat.linkOf('slack', 'U2'))?.principal_id, 'prn_b', 'an account speaks for one principal');
      assert.equal(await store.chatLookup.firstSighting('telegram:1', at), true);
      assert.equal(await store.chatLookup.firstSighting('telegram:1', at), false);
      await scope.chat.saveDraft({ plan_id: 'pln_1', platform: 'telegram', chat_user_id: '7', comment: 'one', created_at: at });
      await scope.chat.saveDraft({ plan_id: 'pln_1', platform: 'telegram', chat_user_id: '7', comment: 'two', created_at: at });
      assert.equal(await scope.chat.takeDraft('pln_1', 'telegram', '7'), 'two');
      assert.equal(await scope.chat.takeDraft('pln_1', 'telegram', '7'), '');
    });

    test('deliveries: claimed once under a lease, in order per subject and channel, retried, then dead', async () => {
      const queue = store.notificationQueue;
      const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 0, 0, s)).toISOString();
      let n = 0;
      const newId = () => `dlv_${++n}`;
      await store.transaction(tenant, async (tx) => {
        await tx.notifications.enqueue({
          id: 'e1',
          kind: 'plan.pending',
          subject: 'plan:p1',
          dedupKey: 'k1',
          payload: {},
          createdAt: at(0),
        });
        await tx.notifications.enqueue({
          id: 'e2',
          kind: 'plan.approved',
          subject: 'plan:p1',
          dedupKey: 'k2',
          payload: {},
          createdAt: at(1),
        });
        assert.equal(
          await tx.notifications.enqueue({
            id: 'e3',
            kind: 'plan.pending',
            subject: 'plan:p1',
            dedupKey: 'k1',
            payload: {},
            createdAt: at(2),
          }),
          false,
        );
      });
      const events = await queue.unexpanded(10);
      assert.deepEqual(
        events.map((e) => e.id),
        ['e1', 'e2'],
      );
      for (const [i, e] of events.entries()) await queue.expand(e, ['slack', 'mail'], 1000 + i, at(3), newId);
      await queue.expand(events[0]!, ['slack'], 1000, at(3), newId); // a repeat adds nothing
      assert.equal((await queue.unexpanded(10)).length, 0);
      const first = await queue.claimDue(at(4), at(60), 10);
      assert.deepEqual(
        first.map((c) => [c.event.id, c.delivery.channel]).sort(),
        [
          ['e1', 'mail'],
          ['e1', 'slack'],
        ],
        'e2 waits behind e1',
      );
      assert.deepEqual(await queue.claimDue(at(5), at(60), 10), [], 'leased deliveries are not claimed twice');
      const slack = first.find((c) => c.delivery.channel === 'slack')!;
      const mail = first.find((c) => c.delivery.channel === 'mail')!;
      await queue.markSent(slack.delivery.id, at(6));
      await queue.markFailed(mail.delivery.id, 'refused', at(30));
      const second = await queue.claimDue(at(7), at(60), 10);
      assert.deepEqual(
        second.map((c) => [c.event.id, c.delivery.channel]),
        [['e2', 'slack']],
        'mail e2 still waits for mail e1',
      );
      await queue.markFailed(mail.delivery.id, 'refused again', null);
      const health = Object.fromEntries((await queue.channelHealth()).map((h) => [h.channel, h]));
      assert.equal(health.mail?.dead, 1);
      assert.equal(health.mail?.lastError, 'refused again');
      assert.equal(health.slack?.sent, 1);
    });
  });
}
