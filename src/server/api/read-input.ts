import type { z } from 'zod';
import { GatewayError } from '../../errors.js';

/** Bodies of the JSON endpoints (1,000 emails to resolve fit easily). */
export const MAX_JSON_BODY_BYTES = 256 * 1024;

/**
 * Reads a request body, refusing (413 PAYLOAD_TOO_LARGE) a declared or actual size above `max` without
 * buffering more than `max` bytes.
 */
export async function readBodyLimited(req: { readonly headers: { get(name: string): string | null }; readonly body: ReadableStream<Uint8Array> | null }, max: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) throw tooLarge(max);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function tooLarge(max: number): GatewayError {
  return new GatewayError('PAYLOAD_TOO_LARGE', `The request body is larger than ${max} bytes.`, { details: { maxBytes: max } });
}

/** Zod issues as compact, JSON-safe details: `{ issues: [{ path: "users.0.email", message }] }`. */
export function validationError(where: 'body' | 'query' | 'path', error: z.ZodError): GatewayError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const first = issues[0];
  return new GatewayError('VALIDATION_FAILED', `Invalid ${where}${first ? `: ${first.path ? `${first.path}: ` : ''}${first.message}` : ''}.`, { details: { in: where, issues } });
}

export async function parseJsonBody<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const bytes = await readBodyLimited(req, MAX_JSON_BODY_BYTES);
  if (bytes.byteLength > 0 && type !== 'application/json' && !type.endsWith('+json')) {
    throw new GatewayError('BAD_REQUEST', 'Send the body as JSON with Content-Type: application/json.', { details: { reason: 'unsupported_content_type' } });
  }
  let value: unknown;
  if (bytes.byteLength === 0) {
    value = undefined;
  } else {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (cause) {
      throw new GatewayError('BAD_REQUEST', 'The request body is not valid JSON.', { details: { reason: 'malformed_json' }, cause });
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) throw validationError('body', r.error);
  return r.data;
}

export function parseQuery<T>(url: URL, schema: z.ZodType<T>): T {
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) raw[k] = v;
  const r = schema.safeParse(raw);
  if (!r.success) throw validationError('query', r.error);
  return r.data;
}
