import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 6749 error body, as Atlassian's auth servers send it. */
export function oauthError(c: Context, status: ContentfulStatusCode, error: string, description: string): Response {
  c.header('Cache-Control', 'no-store');
  return c.json({ error, error_description: description }, status);
}

export async function readForm(c: Context): Promise<URLSearchParams> {
  const text = await c.req.text().catch(() => '');
  return new URLSearchParams(text);
}

/** The token endpoint of 3LO takes JSON (documented) or a form body (seen in clients). */
export async function readJsonOrForm(c: Context): Promise<Record<string, string>> {
  const text = await c.req.text().catch(() => '');
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json') || text.trimStart().startsWith('{')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null) {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
      }
    } catch {
      return {};
    }
    return {};
  }
  return Object.fromEntries(new URLSearchParams(text));
}
