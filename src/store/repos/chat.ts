import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export type ChatCodeRow = Database['chat_codes'];
export type ChatLinkRow = Database['chat_links'];
export type ChatMessageRow = Database['chat_messages'];

/**
 * One tenant's chat state: accounts linked to principals, one-time codes (stored hashed), the
 * message each plan has in each chat channel, and comment drafts.
 */
export class ChatRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  async insertCode(row: Omit<ChatCodeRow, 'tenant_id' | 'used_at' | 'revoked_at'>): Promise<void> {
    await this.db
      .insertInto('chat_codes')
      .values({ ...row, tenant_id: this.tenantId, used_at: null, revoked_at: null })
      .execute();
  }

  async codeByHash(codeHash: string): Promise<ChatCodeRow | undefined> {
    return this.db
      .selectFrom('chat_codes')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
  }

  /** Single use: marks the code used only if it is unused, unrevoked and unexpired. */
  async consumeCode(codeHash: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('chat_codes')
      .set({ used_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('code_hash', '=', codeHash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** A message re-rendered with fresh buttons retires the buttons it showed before. */
  async revokePlanButtons(planId: string, channel: string, at: string): Promise<void> {
    await this.db
      .updateTable('chat_codes')
      .set({ revoked_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .where('channel', '=', channel)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** Links a chat account to a principal; the principal's earlier account on that platform is unlinked. */
  async link(row: Omit<ChatLinkRow, 'tenant_id'>): Promise<void> {
    await this.db
      .deleteFrom('chat_links')
      .where('tenant_id', '=', this.tenantId)
      .where('platform', '=', row.platform)
      .where((eb) => eb.or([eb('principal_id', '=', row.principal_id), eb('chat_user_id', '=', row.chat_user_id)]))
      .execute();
    await this.db
      .insertInto('chat_links')
      .values({ ...row, tenant_id: this.tenantId })
      .execute();
  }

  async unlink(platform: string, principalId: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('chat_links')
      .where('tenant_id', '=', this.tenantId)
      .where('platform', '=', platform)
      .where('principal_id', '=', principalId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async linkOf(platform: string, chatUserId: string): Promise<ChatLinkRow | undefined> {
    return this.db
      .selectFrom('chat_links')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('platform', '=', platform)
      .where('chat_user_id', '=', chatUserId)
      .executeTakeFirst();
  }

  async links(filter: { principalId?: string; platform?: string } = {}): Promise<ChatLinkRow[]> {
    let q = this.db.selectFrom('chat_links').selectAll().where('tenant_id', '=', this.tenantId);
    if (filter.principalId) q = q.where('principal_id', '=', filter.principalId);
    if (filter.platform) q = q.where('platform', '=', filter.platform);
    return q.orderBy('created_at').execute();
  }

  async message(planId: string, channel: string): Promise<ChatMessageRow | undefined> {
    return this.db
      .selectFrom('chat_messages')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .where('channel', '=', channel)
      .executeTakeFirst();
  }

  async recordMessage(row: Omit<ChatMessageRow, 'tenant_id'>): Promise<void> {
    await this.db
      .insertInto('chat_messages')
      .values({ ...row, tenant_id: this.tenantId })
      .onConflict((oc) => oc.columns(['tenant_id', 'plan_id', 'channel']).doNothing())
      .execute();
  }

  async saveDraft(row: Omit<Database['chat_comment_drafts'], 'tenant_id'>): Promise<void> {
    await this.db
      .insertInto('chat_comment_drafts')
      .values({ ...row, tenant_id: this.tenantId })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'plan_id', 'platform', 'chat_user_id']).doUpdateSet({ comment: row.comment, created_at: row.created_at }),
      )
      .execute();
  }

  /** The comment a reviewer typed for this plan, removed as it is taken. */
  async takeDraft(planId: string, platform: string, chatUserId: string): Promise<string> {
    const where = this.db
      .selectFrom('chat_comment_drafts')
      .select('comment')
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .where('platform', '=', platform)
      .where('chat_user_id', '=', chatUserId);
    const row = await where.executeTakeFirst();
    if (!row) return '';
    await this.db
      .deleteFrom('chat_comment_drafts')
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .where('platform', '=', platform)
      .where('chat_user_id', '=', chatUserId)
      .execute();
    return row.comment;
  }
}

/**
 * Chat callbacks arrive before the tenant is known: a one-time code or a message id names it.
 * These are the lookups that may cross tenants, each by a secret or platform id.
 */
export class ChatLookup {
  constructor(private readonly db: Kysely<Database>) {}

  async code(codeHash: string): Promise<ChatCodeRow | undefined> {
    return this.db.selectFrom('chat_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
  }

  async messageAt(platform: string, chatId: string, messageId: string): Promise<ChatMessageRow | undefined> {
    return this.db
      .selectFrom('chat_messages')
      .selectAll()
      .where('platform', '=', platform)
      .where('chat_id', '=', chatId)
      .where('message_id', '=', messageId)
      .executeTakeFirst();
  }

  /**
   * Forgets what can no longer matter: callback ids seen before `before` (a Slack request older
   * than 5 minutes is refused by its timestamp anyway) and codes that expired before it.
   */
  async prune(before: string): Promise<void> {
    await this.db.deleteFrom('chat_replays').where('seen_at', '<', before).execute();
    await this.db.deleteFrom('chat_codes').where('expires_at', '<', before).execute();
  }

  /** Records a callback id; false when it was seen before (a replay). */
  async firstSighting(id: string, at: string): Promise<boolean> {
    const res = await this.db
      .insertInto('chat_replays')
      .values({ id, seen_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
