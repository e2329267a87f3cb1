import { GatewayError } from '../errors.js';
import { parseQueryString, type QueryInput } from './canonical-request.js';

export interface ExtractConnectJwtInput {
  /** Raw query string or decoded entries. */
  query?: QueryInput | undefined;
  /** Form-encoded body (raw string or decoded entries), when the request has one. */
  formBody?: QueryInput | undefined;
  /** The `Authorization` header value, if any. */
  authorizationHeader?: string | null | undefined;
}

export interface ExtractedConnectJwt {
  token: string;
  source: 'query' | 'body' | 'header';
}

function jwtValues(input: QueryInput | undefined): string[] {
  if (input === undefined) return [];
  const entries = typeof input === 'string' ? parseQueryString(input) : input;
  return entries.filter(([k, v]) => k === 'jwt' && v !== '').map(([, v]) => v);
}

function single(values: string[], where: string): string | undefined {
  if (values.length > 1) {
    throw new GatewayError('BAD_REQUEST', `More than one JWT was found in the ${where}.`, {
      details: { reason: 'duplicate_jwt' },
    });
  }
  return values[0];
}

/**
 * Finds the Connect JWT of a product→app request, in ACE's order: query `jwt`, form body `jwt`,
 * `Authorization: JWT <token>`. A token in both the query and the body is refused (ACE does the same),
 * as is a repeated `jwt` parameter. Returns undefined when there is no token.
 */
export function extractConnectJwt(input: ExtractConnectJwtInput): ExtractedConnectJwt | undefined {
  const fromQuery = single(jwtValues(input.query), 'query string');
  const fromBody = single(jwtValues(input.formBody), 'form body');
  if (fromQuery !== undefined && fromBody !== undefined) {
    throw new GatewayError('BAD_REQUEST', 'A JWT was found in both the query string and the form body.', {
      details: { reason: 'jwt_in_query_and_body' },
    });
  }
  if (fromQuery !== undefined) return { token: fromQuery, source: 'query' };
  if (fromBody !== undefined) return { token: fromBody, source: 'body' };
  const header = input.authorizationHeader;
  if (typeof header === 'string') {
    const match = /^\s*JWT\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] !== undefined) return { token: match[1], source: 'header' };
  }
  return undefined;
}
