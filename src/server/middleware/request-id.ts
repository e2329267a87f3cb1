import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Only short, plain ids from callers are trusted; anything else is replaced so logs cannot be forged. */
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's id when it is short and plain, else a fresh one. */
export function acceptRequestId(given: string | undefined): string {
  return given && ACCEPTABLE.test(given) ? given : randomUUID();
}

export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const id = acceptRequestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
    // A handler that returns a Response of its own (the proxy does) replaces the one the header was set on.
    if (!c.res.headers.has('x-request-id')) {
      try {
        c.res.headers.set('X-Request-Id', id);
      } catch {
        // Immutable headers (a Response straight from fetch): copy it once to add the id.
        const res = new Response(c.res.body, c.res);
        res.headers.set('X-Request-Id', id);
        c.res = res;
      }
    }
  };
}
