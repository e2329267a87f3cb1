/**
 * Exact match against a registered callback URL; for registered loopback URLs without a port
 * (`http://127.0.0.1/cb`, `http://localhost/cb`) any port matches (sandbox convenience, RFC 8252 style).
 */
export function redirectUriMatches(registered: readonly string[], candidate: string): boolean {
  if (registered.includes(candidate)) return true;
  let c: URL;
  try {
    c = new URL(candidate);
  } catch {
    return false;
  }
  return registered.some((r) => {
    const u = new URL(r);
    const loopback = u.hostname === '127.0.0.1' || u.hostname === 'localhost';
    return loopback && u.port === '' && c.protocol === u.protocol && c.hostname === u.hostname && c.pathname === u.pathname && c.search === u.search;
  });
}
