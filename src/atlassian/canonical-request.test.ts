import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  encodeRfc3986,
  parseQueryString,
  queryStringHash,
  sha256Hex,
  splitRawUrl,
} from './canonical-request.js';
import { loadConformanceVectors } from './test-support/conformance.js';

describe('conformance: jwt-signed-urls.json (official Atlassian signed URLs)', () => {
  const file = loadConformanceVectors();

  test('the file holds the 78 documented cases', () => {
    assert.equal(file.tests.length, 78);
  });

  for (const vector of file.tests) {
    test(`canonical request and qsh: ${vector.name}`, () => {
      const { pathname, query } = splitRawUrl(vector.signedUrl);
      const canonical = canonicalRequest({ method: 'GET', pathname, query });
      assert.equal(canonical, vector.canonicalUrl);
      // The qsh claim inside the signed token is the hash of the expected canonical request.
      const payloadSegment = vector.token.split('.')[1] ?? '';
      const claims = JSON.parse(Buffer.from(payloadSegment, 'base64url').toString('utf8')) as { qsh: string };
      assert.equal(queryStringHash({ method: 'GET', pathname, query }), claims.qsh);
    });
  }
});

describe('Appendix B.2 (atlassian-jwt unit-test vectors)', () => {
  const helloParams =
    'lic=none&tz=Australia%2FSydney&cp=%2Fjira&user_key=&loc=en-US&user_id=&jwt=ABC.DEF.GHI&xdm_p=1&xdm_c=channel-servlet-hello-world&xdm_e=http%3A%2F%2Fstorm%3A2990';
  const cases: Array<{ name: string; input: Parameters<typeof canonicalRequest>[0]; canonical: string; qsh?: string }> = [
    {
      name: 'path only',
      input: { method: 'get', pathname: '/path' },
      canonical: 'GET&/path&',
      qsh: '799be84a7fa35570087163c0cd9af3abff7ac05c2c12ba0bb1d7eebc984b3ac2',
    },
    {
      name: 'empty path',
      input: { method: 'GET', pathname: '' },
      canonical: 'GET&/&',
      qsh: 'c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239',
    },
    {
      name: 'root path',
      input: { method: 'GET', pathname: '/' },
      canonical: 'GET&/&',
      qsh: 'c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239',
    },
    {
      name: 'hello-world with many params (jwt dropped)',
      input: { method: 'GET', pathname: '/hello-world', query: helloParams },
      canonical:
        'GET&/hello-world&cp=%2Fjira&lic=none&loc=en-US&tz=Australia%2FSydney&user_id=&user_key=&xdm_c=channel-servlet-hello-world&xdm_e=http%3A%2F%2Fstorm%3A2990&xdm_p=1',
      qsh: '8063ff4ca1e41df7bc90c8ab6d0f6207d491cf6dad7c66ea797b4614b71922e9',
    },
    {
      name: 'POST hello-world with the params taken from the form body',
      input: { method: 'POST', pathname: '/hello-world', query: helloParams },
      canonical:
        'POST&/hello-world&cp=%2Fjira&lic=none&loc=en-US&tz=Australia%2FSydney&user_id=&user_key=&xdm_c=channel-servlet-hello-world&xdm_e=http%3A%2F%2Fstorm%3A2990&xdm_p=1',
      qsh: 'd7e7f00660965fc15745b2c423a89b85d0853c4463faca362e0371d008eb0927',
    },
    {
      name: 'POST hello-world without body params',
      input: { method: 'POST', pathname: '/hello-world' },
      canonical: 'POST&/hello-world&',
      qsh: '6f95f3738e1b037a3bebbe0ad237d80fdbc1d5ae452e98ce03a9c004c178ebb4',
    },
    {
      name: 'repeated values sorted by code point',
      input: {
        method: 'GET',
        pathname: '/path/to/service',
        query: 'zee_last=param&repeated=parameter+1&first=param&repeated=parameter+2&repeated=Parameter+2',
      },
      canonical: 'GET&/path/to/service&first=param&repeated=Parameter%202,parameter%201,parameter%202&zee_last=param',
    },
    {
      name: '& in the path is escaped, context path stripped',
      input: { method: 'POST', pathname: '/jira/rest/api/2/project&a=b&c=d', query: 'x=y', contextPath: '/jira' },
      canonical: 'POST&/rest/api/2/project%26a=b%26c=d&x=y',
    },
    {
      name: 'a&b=foo&c: parameters without value emit key=',
      input: { method: 'GET', pathname: '/path', query: 'a&b=foo&c' },
      canonical: 'GET&/path&a=&b=foo&c=',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(canonicalRequest(c.input), c.canonical);
      if (c.qsh !== undefined) assert.equal(queryStringHash(c.input), c.qsh);
    });
  }
});

describe('Appendix B.3 (additional computed examples)', () => {
  const cases: Array<{ name: string; url: string; method: string; contextPath?: string; canonical: string; qsh: string }> = [
    {
      name: 'relative API path with accountId',
      method: 'GET',
      url: '/rest/api/user?accountId=557058:d092c978-5ab7-4c8a-8d87-32ffac22c584&expand=operations',
      canonical: 'GET&/rest/api/user&accountId=557058%3Ad092c978-5ab7-4c8a-8d87-32ffac22c584&expand=operations',
      qsh: '14ce93646dfc11bfcbc73859edf911d349674d780e09865443fca2399ccd3f96',
    },
    {
      name: 'absolute Confluence URL with /wiki stripped',
      method: 'GET',
      url: 'https://example.atlassian.net/wiki/rest/api/user?accountId=557058:d092c978-5ab7-4c8a-8d87-32ffac22c584',
      contextPath: '/wiki',
      canonical: 'GET&/rest/api/user&accountId=557058%3Ad092c978-5ab7-4c8a-8d87-32ffac22c584',
      qsh: 'db39d109a466236130bdab3333e8c2934d013835731e7cac68d142259cd058bd',
    },
    {
      name: 'install callback under an app base path',
      method: 'POST',
      url: 'https://app.example.com/base/installed',
      contextPath: '/base',
      canonical: 'POST&/installed&',
      qsh: '4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4',
    },
    {
      name: 'webhook with lic param',
      method: 'POST',
      url: 'https://app.example.com/webhooks/page-created?lic=none',
      canonical: 'POST&/webhooks/page-created&lic=none',
      qsh: 'af916250f151f7d9d489a0c07e2053ab10134065f89e63bc1566ba8a0523ba27',
    },
    {
      name: 'tilde stays literal',
      method: 'GET',
      url: '/rest/api/search/user?cql=user.fullname~jo&limit=10',
      canonical: 'GET&/rest/api/search/user&cql=user.fullname~jo&limit=10',
      qsh: 'b771fdc935a28bcd1c9a2df28dde6c462b639ed88e2faeb37231d72ecb1dec3d',
    },
    {
      name: 'app→product token example: GET /rest/api/content/123?expand=version',
      method: 'GET',
      url: '/rest/api/content/123?expand=version',
      canonical: 'GET&/rest/api/content/123&expand=version',
      qsh: 'a55ba551ab3002ceaa34400c7fe6bda11dad2a12ccda8b26ec76ca01f14e5daa',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { pathname, query } = splitRawUrl(c.url);
      const input = { method: c.method, pathname, query, contextPath: c.contextPath };
      assert.equal(canonicalRequest(input), c.canonical);
      assert.equal(queryStringHash(input), c.qsh);
    });
  }

  test("the ' path case hashes the raw path (Node's legacy url.parse would turn ' into %27)", () => {
    const { pathname, query } = splitRawUrl("https://example.com/path!$&'()*+,;=?a=b");
    assert.equal(pathname, "/path!$&'()*+,;=");
    assert.equal(canonicalRequest({ method: 'GET', pathname, query }), "GET&/path!$%26'()*+,;=&a=b");
    assert.equal(
      queryStringHash({ method: 'GET', pathname, query }),
      '9ef803f9cb8dea4f7f875caff8d31e95962c6e8bd44d64a848d6ebb055b2144b',
    );
    assert.notEqual(
      queryStringHash({ method: 'GET', pathname: '/path!$&%27()*+,;=', query }),
      '9ef803f9cb8dea4f7f875caff8d31e95962c6e8bd44d64a848d6ebb055b2144b',
    );
  });
});

describe('canonicalUri', () => {
  const cases: Array<[string, string | undefined, string]> = [
    ['/wiki/rest/api/content', '/wiki', '/rest/api/content'],
    ['/wiki/rest/api/content', '/wiki/', '/rest/api/content'],
    ['/wiki/rest/api/content', 'wiki', '/rest/api/content'],
    ['/wiki', '/wiki', '/'],
    ['/wiki/', '/wiki', '/'],
    ['/wikipedia/x', '/wiki', '/wikipedia/x'],
    ['/wiki/rest/api/user', 'https://example.atlassian.net/wiki', '/rest/api/user'],
    ['/base/installed', 'https://app.example.com/base/', '/installed'],
    ['/installed', 'https://app.example.com', '/installed'],
    ['/other/x', '/wiki', '/other/x'],
    ['/a/b//', undefined, '/a/b/'],
    ['/a/b/', '/', '/a/b'],
    ['rest/api', '', '/rest/api'],
    ['/%7Euser/%2Fx', '', '/%7Euser/%2Fx'],
    ['/a&b', '', '/a%26b'],
    ['//a', '', '//a'],
    ['//a', undefined, '//a'],
  ];
  for (const [path, ctx, expected] of cases) {
    test(`${JSON.stringify(path)} with context ${JSON.stringify(ctx)} → ${expected}`, () => {
      assert.equal(canonicalUri(path, ctx), expected);
    });
  }
});

describe('canonicalQuery', () => {
  test('entries are accepted as decoded values and encoded the same way as the raw string', () => {
    assert.equal(
      canonicalQuery([
        ['b', 'x y'],
        ['a', "it's*"],
        ['jwt', 'dropped'],
        ['b', 'a'],
      ]),
      'a=it%27s%2A&b=a,x%20y',
    );
    assert.equal(canonicalQuery('?b=x+y&a=it%27s*&jwt=dropped&b=a'), 'a=it%27s%2A&b=a,x%20y');
  });

  test('keys sort on their encoded form (Java canonicaliser), not on the raw key', () => {
    // raw: '~' (0x7E) < 'é' (0xE9); encoded: '%C3%A9' < '~' because '%' is 0x25.
    assert.equal(canonicalQuery('~=1&%C3%A9=2'), '%C3%A9=2&~=1');
  });

  // Only `jwt` itself is outside the qsh: any other parameter left out could be changed in transit
  // without breaking the signature. Names close to `jwt`, and names some frameworks treat as private.
  const names = ['_', '_r', '__proto__', '_jwt', 'jwt_', 'jwtx', 'xjwt', 'JWT', 'Jwt', ' jwt', 'jwt ', 'j', '%6Awt', 'a', 'lic', 'cp', 'xdm_e', '~', '.', '-', '0'];
  for (const name of names) {
    test(`parameter ${JSON.stringify(name)} is covered by the qsh (only jwt is left out)`, () => {
      const base = { method: 'GET', pathname: '/rest/api/content', query: [['limit', '5'] as const] };
      const without = queryStringHash(base);
      const withIt = queryStringHash({ ...base, query: [...base.query, [name, 'v'] as const] });
      const otherValue = queryStringHash({ ...base, query: [...base.query, [name, 'w'] as const] });
      assert.notEqual(withIt, without, 'adding the parameter changes the qsh');
      assert.notEqual(withIt, otherValue, 'changing its value changes the qsh');
      assert.equal(queryStringHash({ ...base, query: [...base.query, [name, 'v'] as const, ['jwt', 'any']] }), withIt, 'jwt alone is ignored');
    });
  }

  test('no parameters → empty string', () => {
    assert.equal(canonicalQuery(''), '');
    assert.equal(canonicalQuery(undefined), '');
    assert.equal(canonicalQuery('jwt=abc'), '');
  });
});

describe('helpers', () => {
  test('encodeRfc3986 encodes everything but unreserved, upper-case hex', () => {
    assert.equal(encodeRfc3986("-._~ !'()*+,/:;=?@é"), "-._~%20%21%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%C3%A9");
  });

  test('sha256Hex("foo") matches the ACSB Javadoc value', () => {
    assert.equal(sha256Hex('foo'), '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
  });

  const splits: Array<[string, { pathname: string; query: string }]> = [
    ['/a/b?c=d#frag', { pathname: '/a/b', query: 'c=d' }],
    ['https://host:8443/a?x', { pathname: '/a', query: 'x' }],
    ['https://host?x=1', { pathname: '', query: 'x=1' }],
    ['https://host', { pathname: '', query: '' }],
    ["/p'a?q=1?2", { pathname: "/p'a", query: 'q=1?2' }],
    // A URL inside the path is part of the path, not a scheme and authority to drop.
    ['/go/https://evil.example/x?q=1', { pathname: '/go/https://evil.example/x', query: 'q=1' }],
  ];
  for (const [url, expected] of splits) {
    test(`splitRawUrl(${url})`, () => assert.deepEqual(splitRawUrl(url), expected));
  }

  test('canonicalRequest refuses an empty method', () => {
    assert.throws(() => canonicalRequest({ method: ' ', pathname: '/' }), { name: 'TypeError', message: 'canonicalRequest needs an HTTP method' });
  });
});

describe('canonical request: edges found by mutation testing (second run)', () => {
  test('parseQueryString drops exactly one leading "?", and a "?" anywhere else is data', () => {
    assert.deepEqual(parseQueryString('?a=1'), [['a', '1']]);
    assert.deepEqual(parseQueryString('a=1'), [['a', '1']]);
    assert.deepEqual(parseQueryString('a=1?'), [['a', '1?']]);
    // The query of `/p??a=1` is `?a=1`: its key is `?a`, which the qsh must cover as `%3Fa`.
    assert.deepEqual(parseQueryString('??a=1'), [['?a', '1']]);
    assert.equal(canonicalQuery('??a=1'), '%3Fa=1');
  });

  test('a context path is a whole base URL only when it starts with a scheme', () => {
    // A path holding "x://" later on is still a path: it is stripped as given, "?" and all.
    assert.equal(canonicalUri('/a?b://c/rest', '/a?b://c'), '/rest');
    assert.equal(canonicalUri('/wiki/rest', 'https://acme.atlassian.net/wiki?x=1'), '/rest');
  });
});

// Guard that the vectors file is found inside the repository, resolved relative to this test file.
test('conformance file is resolved relative to this test file', () => {
  const raw = readFileSync(new URL('../../test/conformance/jwt-signed-urls.json', import.meta.url), 'utf8');
  assert.match(raw, /"secret"/);
});
