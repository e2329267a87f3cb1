import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeQsh, createCanonicalRequest, encodeRfc3986, parseRawQuery, sha256Hex } from './canonical-request.js';
import { decodeJwt, signHmacJwt } from './hs256.js';
import { verifyConnectJwt } from './verify-connect-jwt.js';

interface VectorFile {
  secret: string;
  tests: { name: string; canonicalUrl: string; signedUrl: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/conformance/jwt-signed-urls.json', import.meta.url), 'utf8'),
) as VectorFile;

describe('conformance: jwt-signed-urls.json (all cases, as is)', () => {
  test('the file holds the 78 official cases', () => {
    assert.equal(vectors.tests.length, 78);
  });
  for (const [i, v] of vectors.tests.entries()) {
    test(`#${i} ${v.name}`, () => {
      const token = new URL(v.signedUrl).searchParams.get('jwt');
      assert.ok(token, 'signed URL carries a jwt');
      assert.equal(createCanonicalRequest({ method: 'GET', url: v.signedUrl }), v.canonicalUrl);
      const result = verifyConnectJwt({
        token,
        secretFor: ({ iss }) => (iss === 'jira:1234-5678-9000' ? vectors.secret : null),
        method: 'GET',
        url: v.signedUrl,
        nowSeconds: null,
        qsh: 'required',
      });
      assert.deepEqual(result.ok ? 'ok' : result.reason, 'ok');
    });
  }
  test('a tampered vector URL fails qsh', () => {
    const v = vectors.tests[0]!;
    const token = new URL(v.signedUrl).searchParams.get('jwt')!;
    const r = verifyConnectJwt({ token, secretFor: () => vectors.secret, method: 'GET', url: 'https://example.com/test?param=other', nowSeconds: null });
    assert.equal(r.ok ? 'ok' : r.reason, 'QSH_MISMATCH');
  });
  test('a vector with the wrong secret fails the signature', () => {
    const v = vectors.tests[0]!;
    const token = new URL(v.signedUrl).searchParams.get('jwt')!;
    const r = verifyConnectJwt({ token, secretFor: () => 'not-the-secret', method: 'GET', url: v.signedUrl, nowSeconds: null });
    assert.equal(r.ok ? 'ok' : r.reason, 'BAD_SIGNATURE');
  });
  test('the 2016 vectors are expired when exp is enforced', () => {
    const v = vectors.tests[0]!;
    const token = new URL(v.signedUrl).searchParams.get('jwt')!;
    const r = verifyConnectJwt({ token, secretFor: () => vectors.secret, method: 'GET', url: v.signedUrl, nowSeconds: 1_700_000_000 });
    assert.equal(r.ok ? 'ok' : r.reason, 'EXPIRED');
  });
});

describe('canonical query order (issue 15: the sandbox sorted raw keys, Atlassian sorts encoded ones)', () => {
  const table: [string, string, string][] = [
    ['ü next to plain keys', '/x?z=1&%C3%BC=2&a=3', 'GET&/x&%C3%BC=2&a=3&z=1'],
    ['[ next to upper and lower case', '/x?Z=1&%5B=2&a=3', 'GET&/x&%5B=2&Z=1&a=3'],
    ['~ and é (raw order is the other way round)', '/x?~=1&%C3%A9=2', 'GET&/x&%C3%A9=2&~=1'],
    ['expand[] with plain keys', '/x?limit=5&expand%5B%5D=body&b=1', 'GET&/x&b=1&expand%5B%5D=body&limit=5'],
  ];
  for (const [name, url, canonical] of table) {
    test(name, () => {
      assert.equal(createCanonicalRequest({ method: 'GET', url }), canonical);
    });
  }
});

describe('Appendix B.2 / B.3 vectors', () => {
  const table: [string, string, string][] = [
    ['GET&/path&', 'GET&/path&', '799be84a7fa35570087163c0cd9af3abff7ac05c2c12ba0bb1d7eebc984b3ac2'],
    ['GET&/&', 'GET&/&', 'c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239'],
  ];
  for (const [name, canonical, qsh] of table) {
    test(`sha256(${name})`, () => assert.equal(sha256Hex(canonical), qsh));
  }
  test('empty path and "/" canonicalise to GET&/&', () => {
    assert.equal(createCanonicalRequest({ method: 'get', url: 'https://h.example' }), 'GET&/&');
    assert.equal(createCanonicalRequest({ method: 'GET', url: 'https://h.example/' }), 'GET&/&');
  });
  const helloQuery =
    'cp=%2Fjira&lic=none&loc=en-US&tz=Australia%2FSydney&user_id=&user_key=&xdm_c=channel-servlet-hello-world&xdm_e=http%3A%2F%2Fstorm%3A2990&xdm_p=1';
  test('hello-world GET', () => {
    assert.equal(computeQsh({ method: 'GET', url: `/hello-world?${helloQuery}` }), '8063ff4ca1e41df7bc90c8ab6d0f6207d491cf6dad7c66ea797b4614b71922e9');
  });
  test('hello-world POST with form body params', () => {
    assert.equal(
      computeQsh({ method: 'POST', url: '/hello-world', bodyParams: parseRawQuery(helloQuery) }),
      'd7e7f00660965fc15745b2c423a89b85d0853c4463faca362e0371d008eb0927',
    );
    assert.equal(computeQsh({ method: 'POST', url: '/hello-world' }), '6f95f3738e1b037a3bebbe0ad237d80fdbc1d5ae452e98ce03a9c004c178ebb4');
  });
  test('values sorted by code point', () => {
    assert.equal(
      createCanonicalRequest({ method: 'GET', url: '/path/to/service?zee_last=param&repeated=parameter+1&first=param&repeated=parameter+2&repeated=Parameter+2' }),
      'GET&/path/to/service&first=param&repeated=Parameter%202,parameter%201,parameter%202&zee_last=param',
    );
  });
  test('& in path escaped, context path stripped', () => {
    assert.equal(
      createCanonicalRequest({ method: 'POST', url: 'https://h.example/jira/rest/api/2/project&a=b&c=d?x=y', contextPath: '/jira' }),
      'POST&/rest/api/2/project%26a=b%26c=d&x=y',
    );
  });
  const b3: [string, string, string | undefined, string, string][] = [
    ['GET', '/rest/api/user?accountId=557058:d092c978-5ab7-4c8a-8d87-32ffac22c584&expand=operations', undefined,
      'GET&/rest/api/user&accountId=557058%3Ad092c978-5ab7-4c8a-8d87-32ffac22c584&expand=operations', '14ce93646dfc11bfcbc73859edf911d349674d780e09865443fca2399ccd3f96'],
    ['GET', 'https://example.atlassian.net/wiki/rest/api/user?accountId=557058:d092c978-5ab7-4c8a-8d87-32ffac22c584', '/wiki',
      'GET&/rest/api/user&accountId=557058%3Ad092c978-5ab7-4c8a-8d87-32ffac22c584', 'db39d109a466236130bdab3333e8c2934d013835731e7cac68d142259cd058bd'],
    ['POST', 'https://app.example.com/base/installed', '/base', 'POST&/installed&', '4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4'],
    ['POST', 'https://app.example.com/webhooks/page-created?lic=none', '', 'POST&/webhooks/page-created&lic=none', 'af916250f151f7d9d489a0c07e2053ab10134065f89e63bc1566ba8a0523ba27'],
    ['GET', '/rest/api/search/user?cql=user.fullname~jo&limit=10', undefined, 'GET&/rest/api/search/user&cql=user.fullname~jo&limit=10', 'b771fdc935a28bcd1c9a2df28dde6c462b639ed88e2faeb37231d72ecb1dec3d'],
  ];
  for (const [method, url, ctx, canonical, qsh] of b3) {
    test(`B.3 ${method} ${url}`, () => {
      const input = { method, url, ...(ctx !== undefined ? { contextPath: ctx } : {}) };
      assert.equal(createCanonicalRequest(input), canonical);
      assert.equal(computeQsh(input), qsh);
    });
  }
  test('B.3 app→product token example re-signs byte for byte', () => {
    const payload = { iss: 'my-app-key', iat: 1700000000, exp: 1700000180, qsh: computeQsh({ method: 'GET', url: '/rest/api/content/123?expand=version' }), aud: ['clientKey-1234'] };
    assert.equal(payload.qsh, 'a55ba551ab3002ceaa34400c7fe6bda11dad2a12ccda8b26ec76ca01f14e5daa');
    assert.equal(
      signHmacJwt(payload, 'test-shared-secret'),
      'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJteS1hcHAta2V5IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxODAsInFzaCI6ImE1NWJhNTUxYWIzMDAyY2VhYTM0NDAwYzdmZTZiZGExMWRhZDJhMTJjY2RhOGIyNmVjNzZjYTAxZjE0ZTVkYWEiLCJhdWQiOlsiY2xpZW50S2V5LTEyMzQiXX0.uOQcNiLiNXT-_2V1npf5bcNg0R6mU8NkZD7XtRJ6_qA',
    );
  });
  test('§3.2 JWT-bearer assertion example re-signs byte for byte', () => {
    const token = signHmacJwt(
      {
        iss: 'urn:atlassian:connect:clientid:my-oauth-client-id',
        sub: 'urn:atlassian:connect:useraccountid:557058:d092c978-5ab7-4c8a-8d87-32ffac22c584',
        tnt: 'https://example.atlassian.net/wiki',
        aud: 'https://oauth-2-authorization-server.services.atlassian.com',
        iat: 1700000000,
        exp: 1700000060,
      },
      'test-shared-secret',
    );
    assert.equal(token, 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ1cm46YXRsYXNzaWFuOmNvbm5lY3Q6Y2xpZW50aWQ6bXktb2F1dGgtY2xpZW50LWlkIiwic3ViIjoidXJuOmF0bGFzc2lhbjpjb25uZWN0OnVzZXJhY2NvdW50aWQ6NTU3MDU4OmQwOTJjOTc4LTVhYjctNGM4YS04ZDg3LTMyZmZhYzIyYzU4NCIsInRudCI6Imh0dHBzOi8vZXhhbXBsZS5hdGxhc3NpYW4ubmV0L3dpa2kiLCJhdWQiOiJodHRwczovL29hdXRoLTItYXV0aG9yaXphdGlvbi1zZXJ2ZXIuc2VydmljZXMuYXRsYXNzaWFuLmNvbSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDYwfQ.TF63wdoc7doplRyK-eUVs-VTVwCyWRSDTHUhQ5G0DHk');
    assert.equal(decodeJwt(token)?.payload['tnt'], 'https://example.atlassian.net/wiki');
  });
  test('§9.2/§9.3 iframe URL vectors', () => {
    assert.equal(
      computeQsh({ method: 'GET', url: 'https://app.example.com/main?from=homepage&xdm_e=https%3A%2F%2Fexample.atlassian.net&xdm_c=channel-com.example.my-app__main&cp=%2Fwiki&xdm_deprecated_addon_key_do_not_use=com.example.my-app&lic=none&cv=1000.0.0-19ac9bc0de8a&jwt=x' }),
      '377976d0e2a0b80dc102fbc57db84ac509f98df47484f1018bb18a60d9f359b6',
    );
    assert.equal(
      sha256Hex('GET&/jira/configuration&cp=&cv=1001.0.0-SNAPSHOT&lic=none&xdm_c=channel-com.github.integration.test__github-post-install-page&xdm_deprecated_addon_key_do_not_use=com.github.integration.test&xdm_e=https%3A%2F%2Ftest.atlassian.net'),
      'bcb1e97709b6bcbce5b08cabffe01050e13edabb7a64efbd45ee15ee4b6494d9',
    );
    assert.equal(
      computeQsh({ method: 'GET', url: 'https://us.xray.cloud.getxray.app/view/dialog/test/manual-steps-import?xdm_e=https%3A%2F%2Fbethsaidach-1738694022756.atlassian.net&xdm_c=channel-com.xpandit.plugins.xray__manual-steps-import&cp=&xdm_deprecated_addon_key_do_not_use=com.xpandit.plugins.xray&lic=active&cv=1001.0.0-SNAPSHOT' }),
      '698846ea21237d1c3bf3491cdf6c38e715eedc21c3505c127de5ee27c91558c7',
    );
  });
  test('RFC 3986 encoding', () => {
    assert.equal(encodeRfc3986("a b*~!'()"), 'a%20b%2A~%21%27%28%29');
    assert.equal(sha256Hex('foo'), '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
  });
});

describe('verifyConnectJwt context-qsh rules', () => {
  const secret = 's3cret';
  const nowSeconds = 1_800_000_000;
  test('context-qsh is refused where a real qsh is required, accepted in context mode', () => {
    const token = signHmacJwt({ iss: 'ck', qsh: 'context-qsh', iat: nowSeconds, exp: nowSeconds + 900 }, secret);
    const base = { token, secretFor: () => secret, method: 'GET', url: '/x', nowSeconds };
    const strict = verifyConnectJwt({ ...base, qsh: 'required' });
    assert.equal(strict.ok ? 'ok' : strict.reason, 'CONTEXT_QSH_NOT_ALLOWED');
    assert.equal(verifyConnectJwt({ ...base, qsh: 'context' }).ok, true);
  });
  test('leeway 30 s: exp+29 passes, exp+30 fails', () => {
    const token = signHmacJwt({ iss: 'ck', qsh: computeQsh({ method: 'GET', url: '/x' }), iat: nowSeconds - 100, exp: nowSeconds }, secret);
    const base = { token, secretFor: () => secret, method: 'GET', url: '/x', leewaySeconds: 30 };
    assert.equal(verifyConnectJwt({ ...base, nowSeconds: nowSeconds + 29 }).ok, true);
    const late = verifyConnectJwt({ ...base, nowSeconds: nowSeconds + 30 });
    assert.equal(late.ok ? 'ok' : late.reason, 'EXPIRED');
  });
  test('alg none and missing iss are refused', () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"x"}').toString('base64url')}.`;
    const r1 = verifyConnectJwt({ token: none, secretFor: () => secret, method: 'GET', url: '/', nowSeconds: null });
    assert.equal(r1.ok ? 'ok' : r1.reason, 'BAD_ALG');
    const r2 = verifyConnectJwt({ token: signHmacJwt({ qsh: 'x' }, secret), secretFor: () => secret, method: 'GET', url: '/', nowSeconds: null });
    assert.equal(r2.ok ? 'ok' : r2.reason, 'NO_ISS');
  });
});
