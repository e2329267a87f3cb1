/**
 * The one error type of the gateway. Callers branch on `code`, never on message text; the HTTP status of
 * each code lives in one table (`server/error-status.ts`), so this file stays free of transport concerns.
 */
export const ERROR_CODES = [
  // input and auth on our own API
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  // inbound Atlassian requests (Connect JWTs, signed installs)
  'JWT_INVALID',
  'JWT_EXPIRED',
  'QSH_MISMATCH',
  'INSTALL_SIGNATURE_INVALID',
  'FORGE_TOKEN_INVALID',
  'TENANT_UNKNOWN',
  // tenants and links
  'TENANT_NOT_FOUND',
  'TENANT_UNINSTALLED',
  'USER_NOT_LINKED',
  'LINK_CONFLICT',
  'REAUTH_REQUIRED',
  'LINK_SESSION_INVALID',
  'LINK_SESSION_EXPIRED',
  'POLICY_REFUSED',
  'IMPERSONATION_REFUSED',
  'SCOPE_NOT_ALLOWED',
  // talking to Atlassian
  'INVALID_GRANT',
  'ATLASSIAN_ERROR',
  'ATLASSIAN_UNAVAILABLE',
  'ATLASSIAN_TIMEOUT',
  'FORGE_TOKEN_UNAVAILABLE',
  // our own machinery
  'CONFIG_INVALID',
  'SECRET_KEY_MISSING',
  'DECRYPT_FAILED',
  'STORE_UNAVAILABLE',
  'MIGRATION_FAILED',
  'NOT_IMPLEMENTED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** JSON-safe values only: details travel to API clients and log lines, so they never hold secrets. */
export type ErrorDetailValue = string | number | boolean | null | readonly ErrorDetailValue[] | { readonly [k: string]: ErrorDetailValue };
export type ErrorDetails = { readonly [k: string]: ErrorDetailValue };

export interface GatewayErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: ErrorDetails } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isGatewayError(e: unknown, code?: ErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code);
}

export function isErrorCode(s: string): s is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(s);
}
