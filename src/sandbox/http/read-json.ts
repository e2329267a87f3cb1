import type { Context } from 'hono';

export type ReadJsonResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

/** Reads a JSON object body with a size limit; never throws. */
export async function readJson(c: Context, maxBytes: number): Promise<ReadJsonResult> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    return { ok: false, status: 400, message: 'could not read the request body' };
  }
  if (Buffer.byteLength(text, 'utf8') > maxBytes) return { ok: false, status: 413, message: 'request body too large' };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return { ok: false, status: 400, message: 'body must be a JSON object or array' };
    return { ok: true, value };
  } catch {
    return { ok: false, status: 400, message: 'body is not valid JSON' };
  }
}
