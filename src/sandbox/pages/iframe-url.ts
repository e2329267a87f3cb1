import { computeQsh } from '../jwt/canonical-request.js';
import { signHmacJwt } from '../jwt/hs256.js';
import type { ConnectInstall } from '../state/types.js';
import { appContextPath, joinAppUrl } from '../connect/descriptor-schema.js';

const formEncode = (v: string): string => encodeURIComponent(v).replace(/%20/g, '+');

/**
 * Substitutes `{ac.*}`, `{content.*}`, `{space.*}`, `{page.*}` variables in a module URL template (§9.2):
 * unbound variables become the empty string; path parts are percent-encoded, query values form-encoded.
 */
export function expandModuleUrl(template: string, context: Record<string, string>): string {
  const q = template.indexOf('?');
  const path = q < 0 ? template : template.slice(0, q);
  const query = q < 0 ? '' : template.slice(q + 1);
  const sub = (s: string, enc: (v: string) => string) => s.replace(/\{([a-zA-Z0-9_.-]+)\}/g, (_, name: string) => enc(context[name] ?? ''));
  const expandedPath = sub(path, encodeURIComponent);
  return query === '' ? expandedPath : `${expandedPath}?${sub(query, formEncode)}`;
}

export interface IframeUrlInput {
  install: ConnectInstall;
  moduleKey: string;
  moduleUrl: string;
  context: Record<string, string>;
  /** `xdm_e`: host URL without the context path. In the sandbox this is `<origin>/s/<site>`. */
  hostUrl: string;
  accountId: string | null;
  nowSeconds: number;
}

/** Builds the signed iframe URL (§9.3): module params first, then xdm_e, xdm_c, cp, key, lic, cv, and jwt last. */
export function buildIframeUrl(input: IframeUrlInput): { url: string; jwt: string } {
  const { install } = input;
  const expanded = expandModuleUrl(input.moduleUrl, input.context);
  const std = new URLSearchParams({
    xdm_e: input.hostUrl,
    xdm_c: `channel-${install.appKey}__${input.moduleKey}`,
    cp: '/wiki',
    xdm_deprecated_addon_key_do_not_use: install.appKey,
    lic: 'none',
    cv: '1000.0.0-sandbox',
  });
  const unsigned = `${joinAppUrl(install.descriptor.baseUrl, expanded)}${expanded.includes('?') ? '&' : '?'}${std.toString()}`;
  const qsh = computeQsh({ method: 'GET', url: unsigned, contextPath: appContextPath(install.descriptor.baseUrl) });
  const claims: Record<string, unknown> = {
    ...(input.accountId ? { sub: input.accountId } : {}),
    qsh,
    iss: install.clientKey,
    context: {},
    exp: input.nowSeconds + 900,
    iat: input.nowSeconds,
  };
  const jwt = signHmacJwt(claims, install.sharedSecret);
  return { url: `${unsigned}&jwt=${jwt}`, jwt };
}

/** Context JWT for `AP.context.getToken()` (§1.5, §9.4): literal `qsh: "context-qsh"`. */
export function signContextJwt(install: ConnectInstall, accountId: string, nowSeconds: number, context: Record<string, unknown>): string {
  return signHmacJwt({ sub: accountId, qsh: 'context-qsh', iss: install.clientKey, context, exp: nowSeconds + 900, iat: nowSeconds }, install.sharedSecret);
}
