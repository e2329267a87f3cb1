import { z } from 'zod';
import { ERROR_STATUS } from '../error-status.js';
import type { ErrorCode } from '../../errors.js';
import type { ApiOperation } from './api-operation.js';
import { ErrorEnvelope } from './schemas.js';

export type OpenApiDocument = Record<string, unknown> & { openapi: '3.1.0'; paths: Record<string, Record<string, unknown>> };

/** JSON Schema 2020-12 (what OpenAPI 3.1 speaks) for one zod schema, as the request side reads it. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(o: ApiOperation): unknown[] {
  const out: unknown[] = [];
  const path = o.openapi?.pathOverride ?? o.path;
  for (const m of path.matchAll(/[:{]([A-Za-z0-9_]+)\}?/g)) {
    const name = m[1] as string;
    out.push({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
      ...(name === 'apiPath' ? { description: 'The Confluence API path relative to the site\'s API base, e.g. `api/v2/pages` (slashes are part of the path).', 'x-onbehalf-catch-all': true } : {}),
    });
  }
  if (o.query) {
    const js = schemaOf(o.query, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = schema;
      out.push({ name, in: 'query', required: js.required?.includes(name) ?? false, schema: rest, ...(typeof description === 'string' ? { description } : {}) });
    }
  }
  return out;
}

/**
 * The OpenAPI 3.1 document of the /v1 API, built from the operations' own zod schemas (the ones that
 * validate requests), with every error a route may answer and its status from the one status table.
 */
export function buildOpenApi(operations: readonly ApiOperation[], info: { version: string }): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = schemaOf(ErrorEnvelope, 'output');
  for (const o of operations) {
    const path = o.openapi?.pathOverride ?? toOpenApiPath(o.path);
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of [...(o.auth === 'apiKey' ? (['UNAUTHENTICATED', 'RATE_LIMITED'] as const) : []), ...o.errors]) {
      const status = ERROR_STATUS[code];
      const list = byStatus.get(status) ?? [];
      if (!list.includes(code)) list.push(code);
      byStatus.set(status, list);
    }
    const responses: Record<string, unknown> = {
      [String(o.success.status)]: {
        description: o.success.description,
        ...(o.success.schema
          ? { content: { 'application/json': { schema: schemaOf(o.success.schema, 'output') } } }
          : { content: { [o.success.contentType ?? '*/*']: { schema: {} } } }),
      },
    };
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: `Error: ${codes.join(', ')}.`,
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } } } : {}),
        content: { 'application/json': { schema: error, 'x-error-codes': codes } },
      };
    }
    const params = parametersOf(o);
    const operation: Record<string, unknown> = {
      operationId: o.operationId,
      summary: o.summary,
      tags: [o.tag],
      ...(o.openapi?.description ? { description: o.openapi.description } : {}),
      ...(o.auth === 'apiKey' ? { security: [{ apiKey: [] }] } : { security: [] }),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(o.body, 'input') } } } } : {}),
      ...(o.openapi?.anyBody ? { requestBody: { required: false, content: { '*/*': { schema: {} } } } } : {}),
      responses,
    };
    (paths[path] ??= {})[o.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'onbehalf API',
      version: info.version,
      description: 'Act on behalf of your users in Confluence Cloud: link accounts, get tokens, proxy requests. Authenticate with `Authorization: Bearer <api key>`.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from `onbehalf apikeys create`.' } } },
    paths,
  };
}
