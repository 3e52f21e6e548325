/**
 * Web app accounts, sessions and one-time links over the Kv port (both backends).
 *
 * Keys under the prefix p:
 *   pacct:<id>                 account JSON; paccts-of:<companyId> set of ids
 *   pacct-login:<login>        account id, for the username and the e-mail (global, unique)
 *   psess:<sha256>             session JSON; psess-of:<accountId> set of session hashes
 *   plink:<sha256>             one-time link JSON; plinks-of:<accountId> set of link hashes
 * Sessions and links carry their expiry and are deleted when read after it (the Kv port has no
 * TTL on atomic writes); a session that is never read again stays until its account's next
 * sign-out-everywhere or deletion.
 */
import type { AccountLink, UserAccount, WebSession } from '../domain/model.js';
import { canonicalJson, type AtomicWrite, type Guard, type Kv, type WriteOp } from './kv.js';
import { type AccountsRepo, type ConfigChange, StaleWriteError } from './store.js';

const CHANGED = '#changed';

function parse<T>(json: string | undefined): T | undefined {
  return json === undefined ? undefined : (JSON.parse(json) as T);
}

export function createAccountsRepo(
  kv: Kv,
  p: string,
  /** the store's write: maps a failed uniqueness guard label to ConflictError */
  write: (w: AtomicWrite) => Promise<string | undefined>,
  /**
   * the store's change message: a deleted account, a new password and every ended session are
   * published so that open event streams re-check their credential at once
   */
  changed: (change: ConfigChange) => AtomicWrite['publish'] = () => undefined,
): AccountsRepo {
  const accountKey = (id: string) => `${p}acct:${id}`;
  const accountsOfKey = (cid: string) => `${p}accts-of:${cid}`;
  const loginKey = (login: string) => `${p}acct-login:${login.toLowerCase()}`;
  const sessionKey = (hash: string) => `${p}sess:${hash}`;
  const sessionsOfKey = (aid: string) => `${p}sess-of:${aid}`;
  const linkKey = (hash: string) => `${p}link:${hash}`;
  const linksOfKey = (aid: string) => `${p}links-of:${aid}`;

  const logins = (a: UserAccount): Array<{ field: 'username' | 'email'; login: string }> => [
    { field: 'username', login: a.username },
    // an address kept for mail only (another company's account signs in with it) claims nothing
    ...(a.email && a.emailSignIn !== false ? [{ field: 'email' as const, login: a.email }] : []),
  ];

  const publishOf = (id: string, companyId: string | undefined): Pick<AtomicWrite, 'publish'> => {
    const publish = changed({ kind: 'account', id, ...(companyId !== undefined ? { companyId } : {}) });
    return publish ? { publish } : {};
  };

  const repo: AccountsRepo = {
    async get(companyId, id) {
      const a = parse<UserAccount>(await kv.get(accountKey(id)));
      return a?.companyId === companyId ? a : undefined;
    },
    async getById(id) {
      return parse<UserAccount>(await kv.get(accountKey(id)));
    },
    async list(companyId) {
      const rows = await kv.loadSet(accountsOfKey(companyId), `${p}acct:`);
      return rows
        .map((r) => JSON.parse(r.value) as UserAccount)
        .filter((a) => a.companyId === companyId)
        .sort((a, b) => a.username.localeCompare(b.username));
    },
    async byLogin(login) {
      const id = await kv.get(loginKey(login));
      return id === undefined ? undefined : parse<UserAccount>(await kv.get(accountKey(id)));
    },
    async put(account, previous) {
      const guards: Guard[] = [
        previous
          ? { type: 'equals', key: accountKey(account.id), value: canonicalJson(previous), label: CHANGED }
          : { type: 'absent', key: accountKey(account.id), label: CHANGED },
      ];
      const ops: WriteOp[] = [];
      const before = previous ? logins(previous) : [];
      const after = logins(account);
      for (const { login } of before) {
        if (!after.some((l) => l.login.toLowerCase() === login.toLowerCase()))
          ops.push({ op: 'del', key: loginKey(login) });
      }
      for (const { field, login } of after) {
        guards.push({
          type: 'absentOrEquals',
          key: loginKey(login),
          value: account.id,
          label: `${field}#${login}`,
        });
        ops.push({ op: 'set', key: loginKey(login), value: account.id });
      }
      ops.push(
        { op: 'set', key: accountKey(account.id), value: canonicalJson(account) },
        { op: 'sadd', key: accountsOfKey(account.companyId), member: account.id },
      );
      const publish = changed({ kind: 'account', id: account.id, companyId: account.companyId });
      if ((await write({ guards, ops, ...(publish ? { publish } : {}) })) === CHANGED)
        throw new StaleWriteError();
    },
    async delete(account) {
      await repo.deleteSessionsOf(account.id);
      await repo.deleteLinksOf(account.id);
      const stored = parse<UserAccount>(await kv.get(accountKey(account.id)));
      if (!stored || stored.companyId !== account.companyId) return;
      await write({
        guards: [],
        ops: [
          ...logins(stored).map((l): WriteOp => ({ op: 'del', key: loginKey(l.login) })),
          { op: 'del', key: accountKey(stored.id) },
          { op: 'srem', key: accountsOfKey(stored.companyId), member: stored.id },
        ],
        ...publishOf(stored.id, stored.companyId),
      });
    },
    async createSession(session) {
      await write({
        guards: [{ type: 'absent', key: sessionKey(session.hash), label: CHANGED }],
        ops: [
          { op: 'set', key: sessionKey(session.hash), value: canonicalJson(session) },
          { op: 'sadd', key: sessionsOfKey(session.accountId), member: session.hash },
        ],
      });
    },
    async session(hash, nowMs) {
      const s = parse<WebSession>(await kv.get(sessionKey(hash)));
      if (!s) return undefined;
      if (Date.parse(s.expiresAt) <= nowMs) {
        await repo.deleteSession(s);
        return undefined;
      }
      return s;
    },
    async deleteSession(session) {
      await write({
        guards: [],
        ops: [
          { op: 'del', key: sessionKey(session.hash) },
          { op: 'srem', key: sessionsOfKey(session.accountId), member: session.hash },
        ],
        ...publishOf(session.accountId, session.companyId),
      });
    },
    async deleteSessionsOf(accountId) {
      const rows = await kv.loadSet(sessionsOfKey(accountId), `${p}sess:`);
      const companyId = rows.length > 0 ? (JSON.parse(rows[0]!.value) as WebSession).companyId : undefined;
      await write({
        guards: [],
        ops: [
          ...rows.map((r): WriteOp => ({ op: 'del', key: sessionKey(r.member) })),
          { op: 'del', key: sessionsOfKey(accountId) },
        ],
        ...publishOf(accountId, companyId),
      });
    },
    async createLink(link) {
      await write({
        guards: [{ type: 'absent', key: linkKey(link.hash), label: CHANGED }],
        ops: [
          { op: 'set', key: linkKey(link.hash), value: canonicalJson(link) },
          { op: 'sadd', key: linksOfKey(link.accountId), member: link.hash },
        ],
      });
    },
    async takeLink(hash, nowMs) {
      const json = await kv.get(linkKey(hash));
      const link = parse<AccountLink>(json);
      if (!link || json === undefined) return undefined;
      // only the one request whose delete succeeds gets the link
      const failed = await write({
        guards: [{ type: 'equals', key: linkKey(hash), value: json, label: CHANGED }],
        ops: [
          { op: 'del', key: linkKey(hash) },
          { op: 'srem', key: linksOfKey(link.accountId), member: hash },
        ],
      });
      if (failed === CHANGED) return undefined;
      return Date.parse(link.expiresAt) > nowMs ? link : undefined;
    },
    async deleteLinksOf(accountId) {
      const rows = await kv.loadSet(linksOfKey(accountId), `${p}link:`);
      await write({
        guards: [],
        ops: [
          ...rows.map((r): WriteOp => ({ op: 'del', key: linkKey(r.member) })),
          { op: 'del', key: linksOfKey(accountId) },
        ],
      });
    },
  };
  return repo;
}
