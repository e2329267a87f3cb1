import { z } from 'zod';
import { formatIssues } from '../seed/seed-schema.js';
import { isConnectScope } from '../auth/connect-scopes.js';
import type { ConnectDescriptor, ConnectScope } from '../state/types.js';

const pageModule = z.object({
  key: z.string().min(1),
  name: z.object({ value: z.string() }).passthrough().optional(),
  url: z.string().min(1),
  location: z.string().optional(),
  conditions: z.array(z.object({ condition: z.string() }).passthrough()).optional(),
}).passthrough();

const descriptorSchema = z
  .object({
    key: z.string().min(1).max(64),
    name: z.string().optional(),
    baseUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'baseUrl must be an absolute http(s) URL'),
    authentication: z.object({ type: z.enum(['jwt', 'JWT', 'none', 'NONE']) }).passthrough().optional(),
    apiMigrations: z.record(z.string(), z.boolean()).optional(),
    lifecycle: z
      .object({ installed: z.string().optional(), uninstalled: z.string().optional(), enabled: z.string().optional(), disabled: z.string().optional() })
      .passthrough()
      .optional(),
    scopes: z.array(z.string()).optional(),
    modules: z
      .object({
        webhooks: z.array(z.object({ event: z.string().min(1), url: z.string().min(1) }).passthrough()).optional(),
        generalPages: z.array(pageModule).optional(),
        configurePage: pageModule.optional(),
        postInstallPage: pageModule.optional(),
        adminPages: z.array(pageModule).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export type ParseDescriptorResult = { ok: true; descriptor: ConnectDescriptor; scopes: ConnectScope[] } | { ok: false; message: string };

/** Validates a Connect descriptor (protocol doc §2.1). Scope names may be all upper- or all lower-case. */
export function parseDescriptor(input: unknown): ParseDescriptorResult {
  const r = descriptorSchema.safeParse(input);
  if (!r.success) return { ok: false, message: `descriptor is invalid: ${formatIssues(r.error)}` };
  const scopes: ConnectScope[] = [];
  for (const s of r.data.scopes ?? []) {
    const upper = s.toUpperCase();
    if ((s !== upper && s !== s.toLowerCase()) || !isConnectScope(upper)) return { ok: false, message: `descriptor is invalid: scopes: unknown scope "${s}"` };
    scopes.push(upper);
  }
  return { ok: true, descriptor: r.data as ConnectDescriptor, scopes: [...new Set(scopes)] };
}

export function joinAppUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

export function appContextPath(baseUrl: string): string {
  return new URL(baseUrl).pathname.replace(/\/+$/, '');
}
