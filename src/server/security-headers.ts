import type { MiddlewareHandler } from 'hono';

/**
 * The security headers of every gateway answer, written out once: the Hono app adds them after its
 * handlers and the proxy's own listener (server/api/proxy-listener.ts) adds the same list, so the two
 * cannot differ. A header the answer already has is kept: pages shown inside Confluence set their own CSP
 * (frame-ancestors = the site), and an answer proxied from Confluence keeps Confluence's.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  // Pages are server-rendered without inline scripts from third parties; frames are allowed only where a
  // Connect page must render inside Confluence, and those routes set their own frame-ancestors. CSP
  // frame-ancestors also does X-Frame-Options' job, and unlike it can name the site that may frame a page.
  ['content-security-policy', "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'"],
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
];

/** Adds SECURITY_HEADERS the answer does not set itself. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value);
  };
}
