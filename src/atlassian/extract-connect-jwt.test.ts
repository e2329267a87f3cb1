import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../errors.js';
import { extractConnectJwt, type ExtractConnectJwtInput, type ExtractedConnectJwt } from './extract-connect-jwt.js';

describe('extractConnectJwt', () => {
  const cases: Array<[string, ExtractConnectJwtInput, ExtractedConnectJwt | undefined]> = [
    ['query string', { query: 'a=1&jwt=q.q.q' }, { token: 'q.q.q', source: 'query' }],
    ['query entries', { query: [['jwt', 'q.q.q']] }, { token: 'q.q.q', source: 'query' }],
    ['form body', { query: 'a=1', formBody: 'jwt=b.b.b&x=2' }, { token: 'b.b.b', source: 'body' }],
    ['Authorization: JWT', { authorizationHeader: 'JWT h.h.h' }, { token: 'h.h.h', source: 'header' }],
    ['Authorization scheme is case-insensitive', { authorizationHeader: 'jwt  h.h.h ' }, { token: 'h.h.h', source: 'header' }],
    ['query wins over header', { query: 'jwt=q.q.q', authorizationHeader: 'JWT h.h.h' }, { token: 'q.q.q', source: 'query' }],
    ['body wins over header', { formBody: [['jwt', 'b.b.b']], authorizationHeader: 'JWT h.h.h' }, { token: 'b.b.b', source: 'body' }],
    ['Bearer is not a Connect JWT', { authorizationHeader: 'Bearer t.t.t' }, undefined],
    ['empty jwt parameter counts as absent', { query: 'jwt=', authorizationHeader: null }, undefined],
    ['nothing', {}, undefined],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.deepEqual(extractConnectJwt(input), expected));
  }

  const refusals: Array<[string, ExtractConnectJwtInput, string]> = [
    ['token in both query and body', { query: 'jwt=q.q.q', formBody: 'jwt=b.b.b' }, 'jwt_in_query_and_body'],
    ['repeated jwt in the query', { query: 'jwt=a.a.a&jwt=b.b.b' }, 'duplicate_jwt'],
    ['repeated jwt in the body', { formBody: 'jwt=a.a.a&jwt=b.b.b' }, 'duplicate_jwt'],
  ];
  for (const [name, input, reason] of refusals) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => extractConnectJwt(input),
        (e: unknown) => e instanceof GatewayError && e.code === 'BAD_REQUEST' && e.details?.reason === reason && !e.message.includes('q.q.q'),
      );
    });
  }
});

test('the Authorization header must be exactly "JWT <token>" (mutation-testing finds)', () => {
  for (const header of ['JWT a.b.c extra', 'XJWT a.b.c', 'Bearer JWT a.b.c', 'fooJWT a.b.c', 'JWT', 'JWT  ']) {
    assert.equal(extractConnectJwt({ authorizationHeader: header }), undefined, header);
  }
  assert.deepEqual(extractConnectJwt({ authorizationHeader: '  jwt   a.b.c  ' }), { token: 'a.b.c', source: 'header' });
  assert.equal(extractConnectJwt({}), undefined);
});

test('refusals say where the JWTs were found', () => {
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  assert.match(message(() => extractConnectJwt({ query: 'jwt=a&jwt=b' })), /in the query string/);
  assert.match(message(() => extractConnectJwt({ formBody: 'jwt=a&jwt=b' })), /in the form body/);
  assert.match(message(() => extractConnectJwt({ query: 'jwt=a', formBody: 'jwt=b' })), /both the query string and the form body/);
});
