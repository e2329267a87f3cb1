/** An account a webhook body names, and in what role. */
export interface WebhookAccount {
  accountId: string;
  role: 'actor' | 'creator' | 'last_modifier' | 'version_author';
  displayName?: string;
  publicName?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' && v.length <= 128 ? v : undefined);

/**
 * Every account ID a Confluence webhook body carries (protocol doc §4.2): the actor (`userAccountId`), the
 * page or comment creator and last modifier, and the users of a full Content object (`version.by`,
 * `history.createdBy`) in content events. Deduplicated; the first role seen wins. Names are taken only
 * where Confluence gives them. The top-level `accountType` is ignored on purpose: it says "customer" even
 * for Atlassian accounts.
 */
export function accountsInWebhook(body: unknown): WebhookAccount[] {
  if (!isObj(body)) return [];
  const found = new Map<string, WebhookAccount>();
  const add = (accountId: string | undefined, role: WebhookAccount['role'], user?: Obj) => {
    if (!accountId || found.has(accountId)) return;
    const entry: WebhookAccount = { accountId, role };
    const displayName = str(user?.['displayName']);
    const publicName = str(user?.['publicName']);
    if (displayName) entry.displayName = displayName;
    if (publicName) entry.publicName = publicName;
    found.set(accountId, entry);
  };
  add(str(body['userAccountId']), 'actor');
  for (const key of ['page', 'blog', 'comment', 'content', 'attachment']) {
    const item = body[key];
    if (!isObj(item)) continue;
    add(str(item['creatorAccountId']), 'creator');
    add(str(item['lastModifierAccountId']), 'last_modifier');
    const version = item['version'];
    if (isObj(version) && isObj(version['by'])) add(str(version['by']['accountId']), 'version_author', version['by']);
    const history = item['history'];
    if (isObj(history) && isObj(history['createdBy'])) add(str(history['createdBy']['accountId']), 'creator', history['createdBy']);
  }
  return [...found.values()];
}
