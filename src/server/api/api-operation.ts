import type { Handler } from 'hono';
import type { z } from 'zod';
import type { ErrorCode } from '../../errors.js';
import type { RouteAuth, RouteDef } from '../routes.js';

/** One operation: its route, auth, schemas and the errors it may answer, all in one place. */
export interface ApiOperation {
  method: RouteDef['method'];
  path: string;
  auth: RouteAuth;
  operationId: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  success: { status: 200 | 201; description: string; schema?: z.ZodType; contentType?: string };
  errors: readonly ErrorCode[];
  /** Free-form OpenAPI additions (the proxy documents its catch-all path here). */
  openapi?: { description?: string; pathOverride?: string; anyBody?: boolean };
  handler: Handler;
}
