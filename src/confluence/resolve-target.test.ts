import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isGatewayError } from '../errors.js';
import { assertTarget, checkRawPath, parseApiBase, resolveApiTarget, resolveRedirectTarget, type TargetRefusal } from './resolve-target.js';

const SITE = parseApiBase('https://acme.atlassian.net/wiki');
const GATEWAY = parseApiBase('https://api.atlassian.com/ex/confluence/a1c0e000-0000-4000-8000-000000000001/wiki/');

describe('parseApiBase', () => {
  test('keeps origin and base path without a trailing slash', () => {
    assert.deepEqual(SITE, { origin: 'https://acme.atlassian.net', basePath: '/wiki', href: 'https://acme.atlassian.net/wiki' });
    assert.equal(GATEWAY.basePath, '/ex/confluence/a1c0e000-0000-4000-8000-000000000001/wiki');
    assert.deepEqual(parseApiBase('https://acme.atlassian.net'), { origin: 'https://acme.atlassian.net', basePath: '', href: 'https://acme.atlassian.net' });
  });
  test('plain http only for loopback hosts unless allowed explicitly', () => {
    assert.equal(parseApiBase('http://sandbox.localhost/s/acme/wiki').basePath, '/s/acme/wiki');
    assert.equal(parseApiBase('http://127.0.0.1:8080/wiki').origin, 'http://127.0.0.1:8080');
    assert.throws(() => parseApiBase('http://acme.atlassian.net/wiki'), (e) => isGatewayError(e, 'CONFIG_INVALID'));
    assert.equal(parseApiBase('http://acme.internal/wiki', { allowInsecureHttp: true }).origin, 'http://acme.internal');
  });
  // The loopback test must match the whole host name: an unanchored one would send credentials over plain
  // http to anyone who registers a name that merely contains "localhost" or "127.".
  for (const host of ['localhost', 'LOCALHOST', 'sandbox.localhost', 'a.b.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) {
    test(`plain http accepted for loopback host ${host}`, () => assert.equal(parseApiBase(`http://${host}:4100/wiki`).basePath, '/wiki'));
  }
  for (const host of ['localhost.evil.com', 'evil-localhost', 'notlocalhost', 'localhost-evil.com', '127.0.0.1.evil.com', '127.0.0.1.nip.io', '10.127.0.1', '[::2]']) {
    test(`plain http refused for look-alike host ${host}`, () =>
      assert.throws(() => parseApiBase(`http://${host}/wiki`), (e) => isGatewayError(e, 'CONFIG_INVALID') && e.details?.['reason'] === 'uses plain http for a non-loopback host (set allowInsecureHttp to allow it)'));
  }
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['relative', '/wiki'],
    ['ftp', 'ftp://acme.atlassian.net/wiki'],
    ['userinfo', 'https://u:p@acme.atlassian.net/wiki'],
    ['query', 'https://acme.atlassian.net/wiki?x=1'],
    ['fragment', 'https://acme.atlassian.net/wiki#x'],
    ['dot segment', 'https://acme.atlassian.net/a/%2e%2e/wiki'],
  ];
  for (const [name, raw] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => parseApiBase(raw), (e) => isGatewayError(e, 'CONFIG_INVALID') && !e.message.includes('u:p')));
  }
});

describe('resolveApiTarget: accepted', () => {
  const cases: Array<[string, string, string, string]> = [
    ['v1 path with query', '/rest/api/content?limit=5', 'https://acme.atlassian.net/wiki/rest/api/content?limit=5', '/rest/api/content?limit=5'],
    ['v2 path', '/api/v2/pages', 'https://acme.atlassian.net/wiki/api/v2/pages', '/api/v2/pages'],
    ['absolute URL under the base', 'https://acme.atlassian.net/wiki/api/v2/pages?cursor=abc', 'https://acme.atlassian.net/wiki/api/v2/pages?cursor=abc', '/api/v2/pages?cursor=abc'],
    ['upper-case scheme and host', 'HTTPS://ACME.atlassian.net/wiki/api/v2/spaces', 'https://acme.atlassian.net/wiki/api/v2/spaces', '/api/v2/spaces'],
    ['fragment dropped', '/api/v2/pages#top', 'https://acme.atlassian.net/wiki/api/v2/pages', '/api/v2/pages'],
    ['dots inside a segment are fine', '/rest/api/content/1.2..3', 'https://acme.atlassian.net/wiki/rest/api/content/1.2..3', '/rest/api/content/1.2..3'],
    ['.. in the query is not a path', '/rest/api/search?cql=title~"../x"', 'https://acme.atlassian.net/wiki/rest/api/search?cql=title~%22../x%22', '/rest/api/search?cql=title~%22../x%22'],
    ['encoded space in a segment', '/rest/api/space/MY%20SPACE', 'https://acme.atlassian.net/wiki/rest/api/space/MY%20SPACE', '/rest/api/space/MY%20SPACE'],
    ['base path itself', '/', 'https://acme.atlassian.net/wiki/', '/'],
  ];
  for (const [name, input, href, apiPath] of cases) {
    test(name, () => {
      const r = resolveApiTarget(SITE, input);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.url.href, href);
      assert.equal(r.apiPath, apiPath);
    });
  }
  test('the gateway base keeps its long path', () => {
    const r = assertTarget(resolveApiTarget(GATEWAY, '/api/v2/pages?limit=1'));
    assert.equal(r.url.href, 'https://api.atlassian.com/ex/confluence/a1c0e000-0000-4000-8000-000000000001/wiki/api/v2/pages?limit=1');
    assert.equal(r.apiPath, '/api/v2/pages?limit=1');
  });
});

describe('resolveApiTarget: refused before any network call', () => {
  const cases: Array<[string, string, 'FORBIDDEN' | 'BAD_REQUEST', TargetRefusal]> = [
    ['other origin', 'https://evil.example/wiki/api/v2/pages', 'FORBIDDEN', 'other_origin'],
    ['same host, other port', 'https://acme.atlassian.net:8443/wiki/api/v2/pages', 'FORBIDDEN', 'other_origin'],
    ['same host, http', 'http://acme.atlassian.net/wiki/api/v2/pages', 'FORBIDDEN', 'other_origin'],
    ['sibling host', 'https://acme.atlassian.net.evil.example/wiki/x', 'FORBIDDEN', 'other_origin'],
    ['absolute, outside the base path', 'https://acme.atlassian.net/admin', 'FORBIDDEN', 'outside_base_path'],
    ['absolute, prefix but not a segment', 'https://acme.atlassian.net/wikiX/api', 'FORBIDDEN', 'outside_base_path'],
    ['scheme-relative', '//evil.example/wiki/api', 'FORBIDDEN', 'scheme_relative_url'],
    ['userinfo', 'https://acme.atlassian.net@evil.example/wiki', 'FORBIDDEN', 'userinfo'],
    ['userinfo on the right host', 'https://user:pw@acme.atlassian.net/wiki/api', 'FORBIDDEN', 'userinfo'],
    ['..', '/../admin', 'FORBIDDEN', 'dot_segment'],
    ['.. in the middle', '/rest/../../admin', 'FORBIDDEN', 'dot_segment'],
    ['. segment', '/rest/./api', 'FORBIDDEN', 'dot_segment'],
    ['%2e%2e', '/%2e%2e/admin', 'FORBIDDEN', 'dot_segment'],
    ['%2E%2E upper case', '/%2E%2E/admin', 'FORBIDDEN', 'dot_segment'],
    ['.%2e mixed', '/.%2e/admin', 'FORBIDDEN', 'dot_segment'],
    ['double-encoded %252e%252e', '/%252e%252e/admin', 'FORBIDDEN', 'dot_segment'],
    ['..;x (Java path parameter)', '/..;x/admin', 'FORBIDDEN', 'dot_segment'],
    ['absolute URL with %2e%2e', 'https://acme.atlassian.net/wiki/%2e%2e/admin', 'FORBIDDEN', 'dot_segment'],
    ['absolute URL with ..', 'https://acme.atlassian.net/wiki/../admin', 'FORBIDDEN', 'dot_segment'],
    ['encoded slash', '/rest%2F..%2Fadmin', 'FORBIDDEN', 'encoded_slash'],
    ['encoded slash lower case', '/a%2fb', 'FORBIDDEN', 'encoded_slash'],
    ['double-encoded slash', '/a%252Fb', 'FORBIDDEN', 'encoded_slash'],
    ['encoded backslash', '/a%5Cb', 'FORBIDDEN', 'backslash'],
    ['backslash', '/rest\\..\\admin', 'FORBIDDEN', 'backslash'],
    ['leading backslashes', '\\\\evil.example/x', 'FORBIDDEN', 'backslash'],
    ['slash backslash', '/\\evil.example/x', 'FORBIDDEN', 'backslash'],
    ['backslash in authority', 'https://acme.atlassian.net\\@evil.example/wiki', 'FORBIDDEN', 'userinfo'],
    ['javascript scheme', 'javascript:alert(1)', 'BAD_REQUEST', 'unsupported_scheme'],
    ['file scheme', 'file:///etc/passwd', 'BAD_REQUEST', 'unsupported_scheme'],
    ['ftp scheme', 'ftp://acme.atlassian.net/wiki/x', 'BAD_REQUEST', 'unsupported_scheme'],
    ['data scheme', 'data:text/plain,hi', 'BAD_REQUEST', 'unsupported_scheme'],
    ['no leading slash', 'api/v2/pages', 'BAD_REQUEST', 'relative_path_must_start_with_slash'],
    ['control character', '/api/v2/pages\r\nX-Injected: 1', 'BAD_REQUEST', 'control_character'],
    ['encoded NUL', '/api/%00/pages', 'BAD_REQUEST', 'control_character'],
    ['malformed percent', '/api/%zz/pages', 'BAD_REQUEST', 'malformed_percent_encoding'],
  ];
  for (const [name, input, code, reason] of cases) {
    test(name, () => {
      const r = resolveApiTarget(SITE, input);
      assert.deepEqual(r, { ok: false, code, reason });
      assert.throws(
        () => assertTarget(r),
        (e) => isGatewayError(e, code) && e.details?.['reason'] === reason && !e.message.includes('evil') && !e.message.includes('pw'),
      );
    });
  }
  test('gateway base: another cloudId is outside the base path', () => {
    const r = resolveApiTarget(GATEWAY, 'https://api.atlassian.com/ex/confluence/9e0b0000-0000-4000-8000-000000000002/wiki/api/v2/pages');
    assert.deepEqual(r, { ok: false, code: 'FORBIDDEN', reason: 'outside_base_path' });
  });
  test('a URL object is checked by origin and path too', () => {
    assert.equal(resolveApiTarget(SITE, new URL('https://evil.example/wiki/x')).ok, false);
    assert.equal(resolveApiTarget(SITE, new URL('https://acme.atlassian.net/wiki/x')).ok, true);
    assert.deepEqual(resolveApiTarget(SITE, new URL('https://acme.atlassian.net/wiki/a%2F..%2F..%2Fadmin')), { ok: false, code: 'FORBIDDEN', reason: 'encoded_slash' });
  });
});

describe('resolveRedirectTarget', () => {
  const current = new URL('https://acme.atlassian.net/wiki/rest/api/content/1');
  const cases: Array<[string, string, string | TargetRefusal]> = [
    ['root-relative under the base', '/wiki/rest/api/content/2', 'https://acme.atlassian.net/wiki/rest/api/content/2'],
    ['relative to the current URL', '2?expand=body', 'https://acme.atlassian.net/wiki/rest/api/content/2?expand=body'],
    ['absolute under the base', 'https://acme.atlassian.net/wiki/api/v2/pages/2', 'https://acme.atlassian.net/wiki/api/v2/pages/2'],
    ['root-relative outside the base', '/login.action', 'outside_base_path'],
    ['other origin', 'https://id.atlassian.com/login', 'other_origin'],
    ['scheme-relative other host', '//evil.example/wiki/x', 'other_origin'],
    ['relative with ..', '../../../admin', 'dot_segment'],
    ['encoded escape', '/wiki/%2e%2e/admin', 'dot_segment'],
    ['userinfo', 'https://x@acme.atlassian.net/wiki/y', 'userinfo'],
    ['non-http scheme', 'javascript:alert(1)', 'unsupported_scheme'],
  ];
  for (const [name, location, expected] of cases) {
    test(name, () => {
      const r = resolveRedirectTarget(SITE, location, current);
      if (expected.startsWith('https://')) {
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.url.href, expected);
      } else {
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.reason, expected);
      }
    });
  }
});

describe('checkRawPath', () => {
  test('plain API paths pass; the checker is not vacuous', () => {
    assert.equal(checkRawPath('/rest/api/content/123/child/page'), null);
    assert.equal(checkRawPath('/api/v2/pages/123'), null);
    assert.equal(checkRawPath('/a/../b'), 'dot_segment');
  });
});

describe('resolveApiTarget: seeded fuzz of the invariant', () => {
  test('whatever is accepted stays on the base origin, under the base path, with no dot segment', () => {
    let seed = 1234567;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const atoms = ['/', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '@', ':', '//', 'evil.example', 'acme.atlassian.net', 'wiki', 'api', '?', '#', '%25', '2e', ';', 'x', 'https:', 'http:', '%00', ' '];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const len = 1 + rnd(8);
      const starts = ['https://acme.atlassian.net/wiki/', 'https://acme.atlassian.net', '/', '/api/', ''];
      let input = starts[rnd(starts.length)]!;
      for (let j = 0; j < len; j++) input += atoms[rnd(atoms.length)];
      const r = resolveApiTarget(SITE, input);
      if (!r.ok) continue;
      accepted += 1;
      assert.equal(r.url.origin, SITE.origin, input);
      assert.ok(r.url.pathname === '/wiki' || r.url.pathname.startsWith('/wiki/'), input);
      assert.equal(r.url.username + r.url.password, '', input);
      for (const seg of r.url.pathname.split('/')) {
        let d = seg;
        for (let k = 0; k < 3; k++) {
          try {
            d = decodeURIComponent(d);
          } catch {
            break;
          }
        }
        assert.ok(d !== '.' && d !== '..' && !d.includes('/') && !d.includes('\\'), `${input} → ${r.url.pathname}`);
      }
    }
    assert.ok(accepted > 100, `the fuzz accepted some inputs (${accepted})`);
  });
});

describe('resolve-target: edges found by mutation testing (second run)', () => {
  const reasonOf = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (e) {
      assert.ok(isGatewayError(e, 'CONFIG_INVALID'), String(e));
      assert.equal(e.message, `apiBaseUrl ${String(e.details?.['reason'])}. Pass the site API base, e.g. https://your-site.atlassian.net/wiki or https://api.atlassian.com/ex/confluence/<cloudId>/wiki.`);
      assert.equal(e.details?.['option'], 'apiBaseUrl');
      return e.details?.['reason'];
    }
    return assert.fail('expected CONFIG_INVALID');
  };

  test('parseApiBase: each refusal names its reason', () => {
    const cases: Array<[unknown, string]> = [
      ['', 'is empty'],
      ['   ', 'is empty'],
      [42, 'is empty'],
      ['acme.atlassian.net/wiki', 'is not an absolute URL'],
      ['ftp://acme.atlassian.net/wiki', 'must use https'],
      ['https://u@acme.atlassian.net/wiki', 'must not contain user info'],
      ['https://:p@acme.atlassian.net/wiki', 'must not contain user info'],
      ['https://acme.atlassian.net/wiki?', 'must not contain a query or fragment'],
      ['https://acme.atlassian.net/wiki#', 'must not contain a query or fragment'],
      ['https://acme.atlassian.net/wiki?a=1', 'must not contain a query or fragment'],
      ['https://acme.atlassian.net/wiki#a', 'must not contain a query or fragment'],
      ['https://acme.atlassian.net/wiki/%2e%2e/admin', 'has an unsafe path'],
      ['http://acme.atlassian.net/wiki', 'uses plain http for a non-loopback host (set allowInsecureHttp to allow it)'],
    ];
    for (const [raw, reason] of cases) assert.equal(reasonOf(() => parseApiBase(raw as string)), reason, JSON.stringify(raw));
  });

  test('parseApiBase: every trailing slash goes; loopback names with long labels and 127.x.y.z with up to three digits', () => {
    assert.equal(parseApiBase('https://acme.atlassian.net/wiki//').basePath, '/wiki');
    assert.equal(parseApiBase('https:acme.atlassian.net').href, 'https://acme.atlassian.net');
    assert.equal(parseApiBase('http://sandbox.acme.localhost:4100/wiki').origin, 'http://sandbox.acme.localhost:4100');
    assert.equal(parseApiBase('http://127.0.0.10/wiki').origin, 'http://127.0.0.10');
    assert.equal(parseApiBase('http://127.10.200.1/wiki').origin, 'http://127.10.200.1');
  });

  test('checkRawPath: control characters as written, a path segment that only starts with a dot, ..;x', () => {
    assert.equal(checkRawPath('/a\u0001b'), 'control_character');
    assert.equal(checkRawPath('/a%01b'), 'control_character');
    assert.equal(checkRawPath('/a%5cb'), 'backslash');
    assert.equal(checkRawPath('/a%2fb'), 'encoded_slash');
    assert.equal(checkRawPath('/.well-known/x'), null);
    assert.equal(checkRawPath('/a/..;x/b'), 'dot_segment');
    assert.equal(checkRawPath('/a/%252e%252e/b'), 'dot_segment');
  });

  test('resolveApiTarget: what counts as a bad request, the query is data, the base path itself is "/"', () => {
    assert.deepEqual(resolveApiTarget(SITE, 42 as unknown as string), { ok: false, code: 'BAD_REQUEST', reason: 'not_a_string' });
    assert.deepEqual(resolveApiTarget(SITE, 'https://[bad/wiki'), { ok: false, code: 'BAD_REQUEST', reason: 'unparseable_url' });
    assert.deepEqual(resolveApiTarget(SITE, 'https:acme.atlassian.net/wiki/x'), { ok: false, code: 'BAD_REQUEST', reason: 'unparseable_url' });
    assert.deepEqual(resolveApiTarget(SITE, '/rest/api/content?x=\u0001'), { ok: false, code: 'BAD_REQUEST', reason: 'control_character' });
    const search = resolveApiTarget(SITE, '/rest/api/search?cql=/../x');
    assert.ok(search.ok, JSON.stringify(search));
    assert.equal(search.apiPath, '/rest/api/search?cql=/../x');
    const colon = resolveApiTarget(SITE, '/rest/api/content/1:2');
    assert.ok(colon.ok && colon.apiPath === '/rest/api/content/1:2', JSON.stringify(colon));
    const bare = resolveApiTarget(SITE, 'https://acme.atlassian.net/wiki?x=1');
    assert.ok(bare.ok && bare.apiPath === '/?x=1', JSON.stringify(bare));
  });

  test('resolveApiTarget with a URL object: scheme and user info are checked too', () => {
    assert.deepEqual(resolveApiTarget(SITE, new URL('ftp://acme.atlassian.net/wiki/x')), { ok: false, code: 'BAD_REQUEST', reason: 'unsupported_scheme' });
    assert.deepEqual(resolveApiTarget(SITE, new URL('https://u@acme.atlassian.net/wiki/x')), { ok: false, code: 'FORBIDDEN', reason: 'userinfo' });
    assert.deepEqual(resolveApiTarget(SITE, new URL('https://:p@acme.atlassian.net/wiki/x')), { ok: false, code: 'FORBIDDEN', reason: 'userinfo' });
  });

  test('resolveRedirectTarget: control characters anywhere, the query is data, plain http on a loopback base', () => {
    const current = new URL('https://acme.atlassian.net/wiki/rest/api/content/1');
    assert.deepEqual(resolveRedirectTarget(SITE, '/wiki/x?y=\u0001', current), { ok: false, code: 'BAD_REQUEST', reason: 'control_character' });
    const q = resolveRedirectTarget(SITE, '2?cql=/../x', current);
    assert.ok(q.ok && q.apiPath === '/rest/api/content/2?cql=/../x', JSON.stringify(q));
    const local = parseApiBase('http://127.0.0.1:4100/wiki');
    const r = resolveRedirectTarget(local, 'http://127.0.0.1:4100/wiki/x', new URL('http://127.0.0.1:4100/wiki/y'));
    assert.ok(r.ok && r.apiPath === '/x', JSON.stringify(r));
  });

  test('assertTarget: a refusal becomes its GatewayError, worded by kind, the input never echoed', () => {
    assert.throws(() => assertTarget({ ok: false, code: 'FORBIDDEN', reason: 'other_origin' }), (e) => isGatewayError(e, 'FORBIDDEN') && e.message === 'Refused to send the credential: the URL is not under the Confluence API base (other_origin).' && e.details?.['reason'] === 'other_origin');
    assert.throws(() => assertTarget({ ok: false, code: 'BAD_REQUEST', reason: 'control_character' }), (e) => isGatewayError(e, 'BAD_REQUEST') && e.message === 'The Confluence API path is invalid (control_character).');
  });
});

describe('resolve-target: edges found by mutation testing (third run)', () => {
  const current = new URL('https://acme.atlassian.net/wiki/api/v2/pages');
  const reason = (r: ReturnType<typeof resolveApiTarget>): string => (r.ok ? `ok ${r.url.href}` : r.reason);

  test('a colon later in a relative path or its query is not a scheme', () => {
    assert.equal(reason(resolveApiTarget(SITE, '/api/v2/search?cql=type:page')), 'ok https://acme.atlassian.net/wiki/api/v2/search?cql=type:page');
    assert.equal(reason(resolveApiTarget(SITE, '/rest/api/content/a:b')), 'ok https://acme.atlassian.net/wiki/rest/api/content/a:b');
    assert.equal(reason(resolveRedirectTarget(SITE, '/wiki/api/v2/pages?cursor=x:1', current)), 'ok https://acme.atlassian.net/wiki/api/v2/pages?cursor=x:1');
  });

  test('an absolute URL with one slash after the scheme has no authority to read its path from: refused as written', () => {
    // The WHATWG parser reads https:/host/... as https://host/...; the raw path checks would then see
    // only what follows a later "//", and miss the encoded slash and dot segment before it.
    for (const raw of ['https:/acme.atlassian.net/wiki/a%2Fb//c', 'https:/acme.atlassian.net/wiki/x/%2e%2e/y//z', 'https:/acme.atlassian.net/wiki/x//u@y']) {
      assert.equal(reason(resolveApiTarget(SITE, raw)), 'unparseable_url', raw);
    }
    assert.equal(reason(resolveRedirectTarget(SITE, 'https:/acme.atlassian.net/wiki/x', current)), 'unparseable_url');
    assert.equal(reason(resolveRedirectTarget(parseApiBase('https://acme.atlassian.net'), 'https:/acme.atlassian.net/x', new URL('https://acme.atlassian.net/y'))), 'unparseable_url');
  });

  test('the last character of a path is checked too (a trailing backslash would become a slash)', () => {
    assert.equal(reason(resolveApiTarget(SITE, '/api/v2/pages\\')), 'backslash');
    assert.equal(reason(resolveApiTarget(SITE, '/api/v2/%2e%2e')), 'dot_segment');
    assert.equal(reason(resolveRedirectTarget(SITE, '/wiki/api/v2/pages\\', current)), 'backslash');
    assert.equal(reason(resolveRedirectTarget(SITE, '/wiki/api/%2e%2e', current)), 'dot_segment');
  });

  test('a scheme-relative Location is read as a URL: its user info is refused as such, before the backslash after it', () => {
    assert.equal(reason(resolveRedirectTarget(SITE, '//evil.example\\@acme.atlassian.net/wiki/x', current)), 'userinfo');
    assert.equal(reason(resolveRedirectTarget(SITE, '//evil.example/wiki/x', current)), 'other_origin');
  });

  test('another scheme is refused as such, before parsing and before any path check', () => {
    // Read as http(s), ftp://[x would fail to parse and ftp://x/\\ would be refused for its backslash.
    for (const raw of ['ftp://[x', 'xhttps://[x', 'ftp://x/\\']) {
      assert.equal(reason(resolveApiTarget(SITE, raw)), 'unsupported_scheme', raw);
      assert.equal(reason(resolveRedirectTarget(SITE, raw, current)), 'unsupported_scheme', raw);
    }
  });

  test('a Location that is only a query keeps the path, whatever the query holds', () => {
    assert.equal(reason(resolveRedirectTarget(SITE, '?cql=ancestor/../x&cursor=2', current)), 'ok https://acme.atlassian.net/wiki/api/v2/pages?cql=ancestor/../x&cursor=2');
  });

  test('a literal % in a name (encoded once as %25) is text: an attachment called "100%.pdf" or "50% off" can be fetched', () => {
    for (const name of ['100%25.pdf', '50%25%20off.png', '%25', 'a%25zz', '%25E0%25A4%25A']) {
      assert.equal(checkRawPath(`/download/attachments/1/${name}`), null, name);
      assert.equal(reason(resolveApiTarget(SITE, `/download/attachments/1/${name}`)), `ok https://acme.atlassian.net/wiki/download/attachments/1/${name}`, name);
    }
    // Written as is, not valid percent-encoding: refused, as before.
    assert.equal(checkRawPath('/download/attachments/1/100%.pdf'), 'malformed_percent_encoding');
    assert.equal(checkRawPath('/api/%zz/pages'), 'malformed_percent_encoding');
  });

  test('a lenient second decoding still finds what a server decoding twice would read as .., / or \\', () => {
    // Each has a stray % that a strict second decoding would choke on, and something dangerous beside it.
    assert.equal(checkRawPath('/a/%252e%252e%253B%25/b'), 'dot_segment'); // ..;% : the Java ..; trick
    assert.equal(checkRawPath('/a/%252e%252e/%25/b'), 'dot_segment');
    assert.equal(checkRawPath('/a/x%252fy%25/b'), 'encoded_slash');
    assert.equal(checkRawPath('/a/x%255cy%25/b'), 'backslash');
    assert.equal(checkRawPath('/a/x%2501y%25/b'), 'control_character');
    assert.equal(checkRawPath('/a/%25252e%25252e%25253B%25/b'), 'dot_segment'); // ..;% after three rounds
    assert.equal(checkRawPath('/a/%25252e%25252e%25/b'), null); // ..% is a name, not ..
  });

  test('a segment is decoded four times at most: still encoded after that, it is text', () => {
    let dots = '..';
    const spellings: string[] = [];
    for (let k = 0; k < 5; k++) {
      dots = encodeURIComponent(dots).replace(/\./g, '%2E');
      spellings.push(dots);
    }
    for (const s of spellings.slice(0, 4)) assert.equal(reason(resolveApiTarget(SITE, `/api/${s}/x`)), 'dot_segment', s);
    const fifth = spellings[4] as string;
    assert.equal(fifth, '%252525252E%252525252E');
    assert.equal(reason(resolveApiTarget(SITE, `/api/${fifth}/x`)), `ok https://acme.atlassian.net/wiki/api/${fifth}/x`);
  });

  test('the host is not part of the path: names ending in a dot (absolute DNS names) are hosts, not dot segments', () => {
    for (const raw of ['https://a./wiki', 'https://./wiki']) {
      const base = parseApiBase(raw);
      assert.equal(base.href, raw);
      assert.equal(reason(resolveApiTarget(base, `${raw}/api/v2/pages`)), `ok ${raw}/api/v2/pages`);
    }
  });
});
