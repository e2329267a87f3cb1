import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Only short, plain ids from callers are trusted; anything else is replaced so logs cannot be forged. */
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given && ACCEPTABLE.test(given) ? given : randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
