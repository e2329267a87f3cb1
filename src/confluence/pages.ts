import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { ActAsClient } from './create-act-as-client.js';
import { paginate } from './paginate.js';
import { processConfluenceResponse, unexpectedShape } from './process-confluence-response.js';

/*
 * Thin typed helpers over the act-as client. Wire types keep Confluence's spelling and stay in this
 * file; callers get camelCase domain types, converted once here. Non-2xx answers become GatewayErrors
 * (status and Confluence's message in details, never headers or credentials).
 */

// ---- wire types (Confluence's spelling) ----

interface WireV1User {
  type?: string;
  accountId?: unknown;
  accountType?: unknown;
  email?: unknown;
  publicName?: unknown;
  displayName?: unknown;
  timeZone?: unknown;
}

interface WireV2Version {
  number?: unknown;
  authorId?: unknown;
  createdAt?: unknown;
  message?: unknown;
  minorEdit?: unknown;
}

interface WireV2Page {
  id?: unknown;
  status?: unknown;
  title?: unknown;
  spaceId?: unknown;
  parentId?: unknown;
  authorId?: unknown;
  ownerId?: unknown;
  createdAt?: unknown;
  version?: WireV2Version;
  body?: { storage?: { value?: unknown; representation?: unknown } };
  _links?: { webui?: unknown; base?: unknown };
}

interface WireV2Space {
  id?: unknown;
  key?: unknown;
  name?: unknown;
  type?: unknown;
  status?: unknown;
  homepageId?: unknown;
  _links?: { webui?: unknown; base?: unknown };
}

interface WireV2PageCreate {
  spaceId: string;
  status: 'current';
  title: string;
  parentId?: string;
  body: { representation: 'storage'; value: string };
}

interface WireV2PageUpdate {
  id: string;
  status: 'current';
  title: string;
  body: { representation: 'storage'; value: string };
  version: { number: number; message?: string };
}

// ---- domain types ----

export interface ConfluenceUser {
  accountId: string;
  /** `atlassian`, `app`, or `''` (customer). */
  accountType: string;
  displayName: string;
  publicName: string;
  /** null when the user's privacy settings hide it (Confluence sends `""`). */
  email: string | null;
  timeZone: string | null;
}

export interface ConfluencePageVersion {
  number: number;
  authorId: string;
  createdAt: string;
  message: string;
  minorEdit: boolean;
}

export interface ConfluencePage {
  id: string;
  status: string;
  title: string;
  spaceId: string;
  parentId: string | null;
  /** accountId of the creator. */
  authorId: string;
  createdAt: string;
  version: ConfluencePageVersion;
  /** Storage-format body, when it was asked for (`getPage` does). */
  bodyStorage: string | null;
  /** `_links.base + _links.webui`, when both are present. */
  webUrl: string | null;
}

export interface ConfluenceSpace {
  id: string;
  key: string;
  name: string;
  type: string;
  status: string;
  homepageId: string | null;
  webUrl: string | null;
}

// ---- conversion (once, at the edge) ----

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

function need(v: unknown, what: string, field: string): string {
  const s = str(v);
  if (s === null) throw unexpectedShape(what, field);
  return s;
}

function webUrl(links: { webui?: unknown; base?: unknown } | undefined): string | null {
  const base = str(links?.base);
  const webui = str(links?.webui);
  return base !== null && webui !== null ? base + webui : null;
}

export function toConfluenceUser(wire: unknown, what: string): ConfluenceUser {
  if (typeof wire !== 'object' || wire === null) throw unexpectedShape(what, 'body');
  const w = wire as WireV1User;
  const email = str(w.email);
  return {
    accountId: need(w.accountId, what, 'accountId'),
    accountType: str(w.accountType) ?? '',
    displayName: str(w.displayName) ?? str(w.publicName) ?? '',
    publicName: str(w.publicName) ?? '',
    email: email === '' ? null : email,
    timeZone: str(w.timeZone),
  };
}

export function toConfluencePage(wire: unknown, what: string): ConfluencePage {
  if (typeof wire !== 'object' || wire === null) throw unexpectedShape(what, 'body');
  const w = wire as WireV2Page;
  const v = w.version;
  if (typeof v !== 'object' || v === null || typeof v.number !== 'number') throw unexpectedShape(what, 'version.number');
  return {
    id: need(w.id, what, 'id'),
    status: str(w.status) ?? 'current',
    title: need(w.title, what, 'title'),
    spaceId: need(w.spaceId, what, 'spaceId'),
    parentId: str(w.parentId),
    authorId: str(w.authorId) ?? '',
    createdAt: str(w.createdAt) ?? '',
    version: {
      number: v.number,
      authorId: str(v.authorId) ?? '',
      createdAt: str(v.createdAt) ?? '',
      message: str(v.message) ?? '',
      minorEdit: v.minorEdit === true,
    },
    bodyStorage: str(w.body?.storage?.value),
    webUrl: webUrl(w._links),
  };
}

export function toConfluenceSpace(wire: unknown, what: string): ConfluenceSpace {
  if (typeof wire !== 'object' || wire === null) throw unexpectedShape(what, 'space');
  const w = wire as WireV2Space;
  return {
    id: need(w.id, what, 'id'),
    key: need(w.key, what, 'key'),
    name: str(w.name) ?? '',
    type: str(w.type) ?? '',
    status: str(w.status) ?? '',
    homepageId: str(w.homepageId),
    webUrl: webUrl(w._links),
  };
}

// ---- helpers ----

type Client = Pick<ActAsClient, 'fetch'>;

export interface CallOptions {
  signal?: AbortSignal;
  /** Lets a RATE_LIMITED error carry `retryAfterMs` (Retry-After may be an HTTP date). */
  clock?: Clock;
}

function pageId(id: unknown): string {
  if (typeof id !== 'string' || !/^\d{1,30}$/.test(id)) {
    throw new GatewayError('BAD_REQUEST', 'A Confluence page id is a string of digits.', { details: { reason: 'invalid_page_id' } });
  }
  return id;
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new GatewayError('BAD_REQUEST', `${field} must be a non-empty string.`, { details: { reason: 'invalid_argument', field } });
  }
  return value;
}

function jsonInit(method: string, body: unknown, options: CallOptions): RequestInit {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  if (options.signal) init.signal = options.signal;
  return init;
}

const getInit = (options: CallOptions): RequestInit => (options.signal ? { signal: options.signal } : {});

/** The acting user (v1 `GET /rest/api/user/current`). */
export async function getCurrentUser(client: Client, options: CallOptions = {}): Promise<ConfluenceUser> {
  const what = 'GET /rest/api/user/current';
  const body = await processConfluenceResponse(await client.fetch('/rest/api/user/current', getInit(options)), what, options.clock);
  return toConfluenceUser(body, what);
}

/** A page with its storage body (v2 `GET /api/v2/pages/{id}?body-format=storage`). 404 → NOT_FOUND (also when not visible). */
export async function getPage(client: Client, id: string, options: CallOptions = {}): Promise<ConfluencePage> {
  const what = 'GET /api/v2/pages/{id}';
  const res = await client.fetch(`/api/v2/pages/${pageId(id)}?body-format=storage`, getInit(options));
  return toConfluencePage(await processConfluenceResponse(res, what, options.clock), what);
}

export interface CreatePageInput {
  spaceId: string;
  title: string;
  /** Storage format (XHTML). */
  body: string;
  /** Defaults to the space homepage (Confluence's rule). */
  parentId?: string;
}

/** Creates a page as the acting user (v2 `POST /api/v2/pages`). Not retried on 5xx unless the client opted in. */
export async function createPage(client: Client, input: CreatePageInput, options: CallOptions = {}): Promise<ConfluencePage> {
  const what = 'POST /api/v2/pages';
  const wire: WireV2PageCreate = {
    spaceId: nonEmpty(input.spaceId, 'spaceId'),
    status: 'current',
    title: nonEmpty(input.title, 'title'),
    body: { representation: 'storage', value: typeof input.body === 'string' ? input.body : nonEmpty(input.body, 'body') },
  };
  if (input.parentId !== undefined) wire.parentId = pageId(input.parentId);
  const res = await client.fetch('/api/v2/pages', jsonInit('POST', wire, options));
  return toConfluencePage(await processConfluenceResponse(res, what, options.clock), what);
}

export interface UpdatePageInput {
  id: string;
  title: string;
  body: string;
  /** The version number to write: the current version + 1, as Confluence expects. A stale one → CONFLICT. */
  version: number;
  versionMessage?: string;
}

/** Replaces a page's title and body (v2 `PUT /api/v2/pages/{id}`). */
export async function updatePage(client: Client, input: UpdatePageInput, options: CallOptions = {}): Promise<ConfluencePage> {
  const what = 'PUT /api/v2/pages/{id}';
  const id = pageId(input.id);
  if (!Number.isInteger(input.version) || input.version < 2) {
    throw new GatewayError('BAD_REQUEST', 'version must be the new version number (current + 1, so at least 2).', { details: { reason: 'invalid_argument', field: 'version' } });
  }
  const wire: WireV2PageUpdate = {
    id,
    status: 'current',
    title: nonEmpty(input.title, 'title'),
    body: { representation: 'storage', value: typeof input.body === 'string' ? input.body : nonEmpty(input.body, 'body') },
    version: input.versionMessage === undefined ? { number: input.version } : { number: input.version, message: input.versionMessage },
  };
  const res = await client.fetch(`/api/v2/pages/${id}`, jsonInit('PUT', wire, options));
  return toConfluencePage(await processConfluenceResponse(res, what, options.clock), what);
}

export interface ListSpacesOptions extends CallOptions {
  /** Page size per request (1–250; Confluence's default is 25). */
  limit?: number;
  keys?: string[];
}

/** The spaces the acting user can see (v2 `GET /api/v2/spaces`), fetched page by page as consumed. */
export async function* listSpaces(client: Client, options: ListSpacesOptions = {}): AsyncGenerator<ConfluenceSpace, void, undefined> {
  const what = 'GET /api/v2/spaces';
  const q = new URLSearchParams();
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 250) {
      throw new GatewayError('BAD_REQUEST', 'limit must be an integer from 1 to 250.', { details: { reason: 'invalid_argument', field: 'limit' } });
    }
    q.set('limit', String(options.limit));
  }
  if (options.keys && options.keys.length > 0) q.set('keys', options.keys.join(','));
  const query = q.toString();
  const paged = paginate<unknown>(client, `/api/v2/spaces${query ? `?${query}` : ''}`, { ...(options.signal ? { signal: options.signal } : {}), ...(options.clock ? { clock: options.clock } : {}) });
  for await (const wire of paged) yield toConfluenceSpace(wire, what);
}
