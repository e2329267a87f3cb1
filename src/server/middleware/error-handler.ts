import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { ERROR_STATUS, INTERNAL_CODES } from '../error-status.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId?: string };
}

/**
 * Turns any thrown error into the wire envelope `{"error":{"code","message","details"}}` with the status
 * from the one table. Unknown errors become INTERNAL with a generic message: their text may hold anything.
 */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    const answer = errorAnswer(err, c.get('requestId') as string | undefined, logger);
    if (answer.retryAfter !== undefined) c.header('Retry-After', answer.retryAfter);
    return c.json(answer.body, answer.status);
  };
}

export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: ErrorBody;
  /** Seconds, for a refusal that knows when to retry. */
  retryAfter?: string;
}

/** The envelope and status for any error, logged as its status deserves; shared with the proxy's own listener. */
export function errorAnswer(err: unknown, requestId: string | undefined, logger: Logger): ErrorAnswer {
  let gatewayError: GatewayError;
  if (err instanceof GatewayError) {
    gatewayError = err;
  } else if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 401 ? 'UNAUTHENTICATED' : err.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    gatewayError = new GatewayError(code, err.message || 'The request was refused.', { cause: err });
  } else {
    gatewayError = new GatewayError('INTERNAL', 'Something went wrong inside the gateway.', { cause: err });
  }
  const status = ERROR_STATUS[gatewayError.code] as ContentfulStatusCode;
  const internal = INTERNAL_CODES.has(gatewayError.code);
  if (status >= 500) logger.error({ err: gatewayError.cause ?? gatewayError, code: gatewayError.code, requestId }, gatewayError.message);
  else logger.debug({ code: gatewayError.code, requestId }, gatewayError.message);
  const body: ErrorBody = {
    error: {
      code: gatewayError.code,
      message: internal ? 'Something went wrong inside the gateway; the log has the details under this request id.' : gatewayError.message,
      ...(gatewayError.details && !internal ? { details: gatewayError.details } : {}),
      ...(requestId ? { requestId } : {}),
    },
  };
  // A refusal that knows when to retry (the Forge offline-token budget) says so as HTTP does, too.
  const retryAfterMs = gatewayError.details?.['retryAfterMs'];
  if (status === 429 && typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) {
    return { status, body, retryAfter: String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  }
  return { status, body };
}
