import type { SandboxUser } from '../state/types.js';

/**
 * The CQL forms `/rest/api/search/user` understands in the sandbox (protocol doc §6.1):
 * `type=user`, `user="<id>"`, `user IN ("a","b")`, `user.accountid="<id>"`, `user.fullname~jo` / `~"jo"`.
 * Returns a predicate, or null when the CQL cannot be parsed (400 "Could not parse cql").
 */
export function parseUserCql(cql: string): ((u: SandboxUser) => boolean) | null {
  const q = cql.trim();
  let m: RegExpExecArray | null;
  if ((m = /^type\s*=\s*"?user"?$/i.exec(q))) return () => true;
  if ((m = /^(?:user|user\.accountid)\s*=\s*"([^"]+)"$/i.exec(q)) || (m = /^(?:user|user\.accountid)\s*=\s*([^\s"]+)$/i.exec(q))) {
    const id = m[1]!;
    return (u) => u.accountId === id;
  }
  if ((m = /^user\s+in\s*\(([^)]*)\)$/i.exec(q))) {
    const ids = m[1]!
      .split(',')
      .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
      .filter(Boolean);
    if (ids.length === 0) return null;
    return (u) => ids.includes(u.accountId);
  }
  if ((m = /^user\.fullname\s*~\s*"([^"]*)"$/i.exec(q)) || (m = /^user\.fullname\s*~\s*([^\s"]+)$/i.exec(q))) {
    const needle = m[1]!.toLowerCase();
    return (u) => u.displayName.toLowerCase().includes(needle) || u.publicName.toLowerCase().includes(needle);
  }
  return null;
}
