import { type Kysely, type Migration, type MigrationProvider, PostgresAdapter, sql } from 'kysely';

/**
 * Versioned migrations, one list for both engines. Only portable column types are used
 * (text, integer, bigint) so SQLite and PostgreSQL hold the same data the same way.
 */
/**
 * PostgreSQL: a trigger function that notifies `channel` with the changed row's `column` (an id,
 * never data), and the triggers that run it after a write (when `when` holds, if given).
 */
interface Notifier {
  fn: string;
  channel: string;
  column: string;
  triggers: { name: string; event: 'insert' | 'update'; table: string; when?: string }[];
}

async function createNotifier(db: Kysely<unknown>, n: Notifier): Promise<void> {
  await sql`create or replace function ${sql.raw(n.fn)}() returns trigger language plpgsql as $fn$
        begin perform pg_notify(${sql.lit(n.channel)}, new.${sql.raw(n.column)}); return null; end $fn$`.execute(db);
  for (const t of n.triggers) {
    await sql`create trigger ${sql.raw(t.name)} after ${sql.raw(t.event)} on ${sql.raw(t.table)}
        for each row ${sql.raw(t.when ? `when (${t.when}) ` : '')}execute function ${sql.raw(n.fn)}()`.execute(db);
  }
}

async function dropNotifier(db: Kysely<unknown>, n: Notifier): Promise<void> {
  for (const t of n.triggers) await sql`drop trigger if exists ${sql.raw(t.name)} on ${sql.raw(t.table)}`.execute(db);
  await sql`drop function if exists ${sql.raw(n.fn)}()`.execute(db);
}

/** 0012: an execution event was written. */
const EVENTS_NOTIFIER: Notifier = {
  fn: 'countersign_notify_event',
  channel: 'countersign_events',
  column: 'execution_id',
  triggers: [{ name: 'countersign_events_notify', event: 'insert', table: 'execution_events' }],
};

/** 0012: a revoked key, a disabled principal or changed groups: open streams re-check at once. */
const AUTH_NOTIFIER: Notifier = {
  fn: 'countersign_notify_auth',
  channel: 'countersign_auth',
  column: 'tenant_id',
  triggers: [
    { name: 'countersign_api_keys_notify', event: 'update', table: 'api_keys', when: 'old.revoked_at is distinct from new.revoked_at' },
    {
      name: 'countersign_principals_notify',
      event: 'update',
      table: 'principals',
      when: 'old.disabled is distinct from new.disabled or old.groups is distinct from new.groups',
    },
  ],
};

/** 0017: a plan's preview results are stored and wait to be attached. */
const PREVIEWS_NOTIFIER: Notifier = {
  fn: 'countersign_notify_preview',
  channel: 'countersign_previews',
  column: 'plan_id',
  triggers: [
    {
      name: 'countersign_previews_notify',
      event: 'update',
      table: 'plan_previews',
      when: "new.state = 'ready' and old.state is distinct from new.state",
    },
  ],
};

const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('environments')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('frozen', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('environments_pk', ['tenant_id', 'name'])
        .execute();
      await db.schema
        .createTable('principals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('human', 'agent')`))
        .addColumn('groups', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('principals_tenant_name', ['tenant_id', 'name'])
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('plans')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('intent', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('risk', 'text', (c) => c.notNull())
        .addColumn('risk_reasons', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('proposer_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addForeignKeyConstraint('plans_environment_fk', ['tenant_id', 'environment'], 'environments', ['tenant_id', 'name'])
        .execute();
      await db.schema.createIndex('plans_tenant_created').on('plans').columns(['tenant_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('plans_tenant_status').on('plans').columns(['tenant_id', 'status']).execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_tenant_seq').on('audit_log').columns(['tenant_id', 'seq']).execute();
      // One row: the chain head. Appends lock it, which serializes writers across API replicas.
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_approvals': {
    async up(db: Kysely<unknown>) {
      // What the plan needs (rules matched, groups and counts), fixed at proposal.
      await db.schema
        .alterTable('plans')
        .addColumn('approval', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('plan_id', 'text', (c) => c.notNull().references('plans.id'))
        .addColumn('reviewer_id', 'text', (c) => c.notNull())
        .addColumn('reviewer_groups', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('approve', 'reject')`))
        .addColumn('plan_hash', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approvals_plan').on('approvals').columns(['tenant_id', 'plan_id', 'created_at']).execute();
    },
  },
  '0003_executions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('executions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        // One execution per plan, ever: a plan runs at most once (invariant 10).
        .addColumn('plan_id', 'text', (c) => c.notNull().unique().references('plans.id'))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('grant_jti', 'text', (c) => c.notNull().unique())
        .addColumn('grant_token', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('override_id', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('executions_claim').on('executions').columns(['status', 'lease_expires_at', 'created_at']).execute();
      await db.schema
        .createTable('execution_steps')
        .addColumn('execution_id', 'text', (c) => c.notNull().references('executions.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('exit_code', 'integer')
        .addColumn('stdout', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('stderr', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addPrimaryKeyConstraint('execution_steps_pk', ['execution_id', 'phase', 'idx'])
        .execute();
      await db.schema
        .createTable('execution_events')
        .addColumn('execution_id', 'text', (c) => c.notNull().references('executions.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('execution_events_pk', ['execution_id', 'seq'])
        .execute();
      // Every grant ever minted: single use (consumed_at), revocable (revoked_at).
      await db.schema
        .createTable('grants')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('consumed_at', 'text')
        .addColumn('execution_id', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoke_reason', 'text')
        .execute();
      // Kill switches: scope '*' freezes a whole tenant, otherwise one environment.
      await db.schema
        .createTable('freezes')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('freezes_pk', ['tenant_id', 'scope'])
        .execute();
    },
  },
  '0004_trust_and_overrides': {
    async up(db: Kysely<unknown>) {
      // The installation's trusted tool publisher keys (invariant 13). Installation-wide, like the
      // tools directory they verify; removal is a mark, so the history of trust stays readable.
      await db.schema
        .createTable('trusted_keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('added_tenant', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addColumn('removed_at', 'text')
        .addColumn('removed_by', 'text')
        .addColumn('remove_reason', 'text')
        .execute();
      // Break-glass overrides (invariant 14): the signed canonical document as issued; the nonce
      // is unique, consumed_at marks the one acceptance, revoked_at the revocation.
      await db.schema
        .createTable('overrides')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull().unique())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('issued_by', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('consumed_at', 'text')
        .addColumn('execution_id', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('revoke_reason', 'text')
        .execute();
      await db.schema.createIndex('overrides_tenant_issued').on('overrides').columns(['tenant_id', 'issued_at', 'id']).execute();
    },
  },
  '0005_event_sequence': {
    async up(db: Kysely<unknown>) {
      // Event numbers come from a counter on the execution row, taken with one atomic UPDATE, so
      // concurrent writers (executor output, API revocations) never pick the same number.
      await db.schema
        .alterTable('executions')
        .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0006_seals': {
    // Server seals (invariant 20): a plan's risk, requirement and expiry, and each review, are
    // signed when written; rows without a valid seal are refused before a grant and every step.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('plans').addColumn('seal', 'text').execute();
      await db.schema.alterTable('approvals').addColumn('seal', 'text').execute();
    },
  },
  '0007_installation': {
    async up(db: Kysely<unknown>) {
      // The identity of this store, written once by init and recorded in the data directory too:
      // a directory opens only the store that holds its id (a singleton row, by the check).
      await db.schema
        .createTable('installation')
        .addColumn('singleton', 'integer', (c) => c.primaryKey().check(sql`singleton = 1`))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('engine', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0008_principal_name_keys': {
    // Principal names are unique per tenant after case and look-alike folding
    // (src/store/name-key.ts). Existing rows get the case-folded name; new rows the full key.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('principals').addColumn('name_key', 'text').execute();
      await sql`update principals set name_key = lower(name)`.execute(db);
      await db.schema.createIndex('principals_tenant_name_key').on('principals').columns(['tenant_id', 'name_key']).unique().execute();
    },
  },
  // --- reviewer console (issue 13) ---
  '0009_console': {
    // Console sessions live on the server: the cookie carries a random token, the row its SHA-256,
    // so a leaked database copy holds no usable cookie. Sign-in attempts (OIDC state, PKCE
    // verifier, nonce) are single-use rows; WebAuthn credentials belong to one principal.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('console_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('auth_method', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('groups', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('step_up_challenge', 'text')
        .addColumn('step_up_plan_hash', 'text')
        .addColumn('step_up_issued_at', 'text')
        .execute();
      await db.schema
        .createTable('console_sign_ins')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // One review per page view: the plan page issues a token bound to the session, the plan and
      // the hash it showed; a review spends it, so a replayed request finds nothing to spend.
      await db.schema
        .createTable('console_review_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('plan_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webauthn_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webauthn_credentials_principal')
        .on('webauthn_credentials')
        .columns(['tenant_id', 'principal_id'])
        .execute();
    },
  },
  // ---- notifications and chat (issue 14) ----
  '0010_notifications': {
    // The outbox: a notification is a row written in the transaction of the change it reports,
    // so a crash between the change and the send loses nothing; deliveries fan it out per channel.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notification_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('dedup_key', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expanded_at', 'text')
        .addUniqueConstraint('notification_outbox_dedup', ['tenant_id', 'dedup_key'])
        .execute();
      await db.schema.createIndex('notification_outbox_pending').on('notification_outbox').columns(['expanded_at', 'created_at']).execute();
      await db.schema
        .createTable('notification_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'sent', 'dead')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('lease_until', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addUniqueConstraint('notification_deliveries_once', ['event_id', 'channel'])
        .execute();
      await db.schema
        .createIndex('notification_deliveries_due')
        .on('notification_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createTable('chat_links')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('chat_user_id', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('chat_user_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_links_pk', ['tenant_id', 'platform', 'chat_user_id'])
        .execute();
      // One-time codes (link codes and decision buttons) are stored as SHA-256 hashes only.
      await db.schema
        .createTable('chat_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('link', 'approve', 'reject')`))
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('platform', 'text')
        .addColumn('chat_user_id', 'text')
        .addColumn('channel', 'text')
        .addColumn('plan_id', 'text')
        .addColumn('plan_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('chat_codes_plan').on('chat_codes').columns(['tenant_id', 'plan_id', 'channel']).execute();
      await db.schema
        .createTable('chat_messages')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('chat_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_messages_pk', ['tenant_id', 'plan_id', 'channel'])
        .execute();
      await db.schema.createIndex('chat_messages_by_message').on('chat_messages').columns(['platform', 'chat_id', 'message_id']).execute();
      // Comments typed as a reply to a plan message (Telegram buttons carry no text).
      await db.schema
        .createTable('chat_comment_drafts')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('plan_id', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('chat_user_id', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('chat_comment_drafts_pk', ['tenant_id', 'plan_id', 'platform', 'chat_user_id'])
        .execute();
      // Seen callback ids (Slack request signatures, Telegram update_id): a replay is refused.
      await db.schema
        .createTable('chat_replays')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seen_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0011_alerts': {
    // Alert intake (src/alerts): delivery ids a source may not send twice (replay), one open
    // plan per alert group and playbook (dedup), each alert plan's origin (provenance of every
    // value, planner outcome, model reviews), and model usage per tenant per UTC day (budgets).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_deliveries_pk', ['tenant_id', 'source', 'delivery_id'])
        .execute();
      await db.schema.createIndex('webhook_deliveries_received').on('webhook_deliveries').columns(['received_at']).execute();
      await db.schema
        .createTable('alert_groups')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('playbook', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('open', 'closed')`))
        .addColumn('plan_id', 'text')
        .addColumn('fingerprints', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_groups_pk', ['tenant_id', 'source', 'group_key', 'playbook'])
        .execute();
      await db.schema
        .createTable('alert_plans')
        .addColumn('plan_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('playbook', 'text', (c) => c.notNull())
        .addColumn('plan_hash', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('notes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('model_usage')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('tokens', 'bigint', (c) => c.notNull())
        .addColumn('cost_micros', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_usage_pk', ['tenant_id', 'day'])
        .execute();
    },
  },
  // ---- scale-out ----
  '0012_scale': {
    // PostgreSQL: live notifications across replicas. Triggers, not application code, so every
    // writer notifies — an executor anywhere, a replica of the previous release — and a
    // notification is delivered only when its transaction commits. Payloads carry ids only.
    // SQLite has one API process: it notifies in process (src/live/).
    async up(db: Kysely<unknown>) {
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await createNotifier(db, EVENTS_NOTIFIER);
      await createNotifier(db, AUTH_NOTIFIER);
    },
    async down(db: Kysely<unknown>) {
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await dropNotifier(db, EVENTS_NOTIFIER);
      await dropNotifier(db, AUTH_NOTIFIER);
    },
  },
  // ---- observability: traces ----
  '0013_traces': {
    // The W3C traceparent of the request that proposed a plan, so its approvals and its execution
    // (in another process, later) link back to it. Nullable: plans of an older release have none,
    // and a replica one release back never writes it (schema compatible one release back).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('plans').addColumn('trace_context', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('plans').dropColumn('trace_context').execute();
    },
  },
  // ---- replicas: shared request budgets ----
  '0014_replicas': {
    // One row per budget key (a principal id, `ip:…`, a webhook source) and fixed window: every
    // API replica counts into it with one upsert, so N replicas allow one budget, not N.
    // Rows are swept once expired. The previous release never reads it (compatible one back).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rate_windows')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('window_start', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rate_windows_pk', ['key', 'window_start'])
        .execute();
      await db.schema.createIndex('rate_windows_expires').on('rate_windows').columns(['expires_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('rate_windows').ifExists().execute();
    },
  },
  // ---- previews (issue 17) ----
  '0015_previews': {
    // One preview job per plan whose steps have previews (src/store/repos/previews.ts).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('plan_previews')
        .addColumn('plan_id', 'text', (c) => c.primaryKey().references('plans.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('plan_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('queued', 'ready', 'attached')`))
        .addColumn('results', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        // The highest risk the proposer's policy allowed this plan at proposal (previews may raise it).
        .addColumn('max_risk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('plan_previews_state').on('plan_previews').columns(['state', 'updated_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('plan_previews').execute();
    },
  },
  // ---- witnessed checkpoints (issue 17) ----
  '0016_witnessed': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('witnessed_checkpoints')
        .addColumn('size', 'bigint', (c) => c.primaryKey())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('witnesses', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // A high-risk plan's grant waits for its approvals' entries: found by resource, not by a scan.
      await db.schema.createIndex('audit_resource_action').on('audit_log').columns(['resource', 'action']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('audit_resource_action').execute();
      await db.schema.dropTable('witnessed_checkpoints').execute();
    },
  },
  // ---- previews: ready results wake the API (PostgreSQL) ----
  '0017_preview_notify': {
    // An executor that stores a plan's preview results notifies the API replicas, which attach
    // them at once instead of polling for them (src/server/previews.ts). A trigger, like 0012's:
    // an executor of the previous release notifies too. SQLite's API polls its own file.
    async up(db: Kysely<unknown>) {
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await createNotifier(db, PREVIEWS_NOTIFIER);
    },
    async down(db: Kysely<unknown>) {
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await dropNotifier(db, PREVIEWS_NOTIFIER);
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
