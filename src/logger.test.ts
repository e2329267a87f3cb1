import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { GatewayError } from './errors.js';
import { createLogger } from './logger.js';
import { REDACTED, redact, redactString } from './redact.js';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; stream: Writable } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  });
  return { stream, raw: () => buf, lines: () => buf.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
const SECRETS = ['tok-access-111', 'tok-refresh-222', 'shh-shared-333', 'pw-db-444', 'obk_apikey555', 'assert-666', 'cs-777', JWT, 'authcode-888', 'basic-999'];

test('log lines never contain tokens, secrets, authorization headers or jwt query params', () => {
  const out = capture();
  const log = createLogger({ level: 'trace', destination: out.stream });
  log.info(
    {
      req: {
        method: 'GET',
        url: `/installed?lic=none&jwt=${JWT}&ok=1`,
        headers: { Authorization: 'Bearer tok-access-111', cookie: 'sid=x', 'x-request-id': 'r-1' },
      },
      tenant: { sharedSecret: 'shh-shared-333', clientKey: 'client-visible' },
      grant: { access_token: 'tok-access-111', refresh_token: 'tok-refresh-222', expires_in: 900 },
      databaseUrl: 'postgres://u:pw-db-444@db/x',
      apiKey: 'obk_apikey555',
      form: { assertion: 'assert-666', client_secret: 'cs-777' },
      callback: 'https://gw.example/oauth/callback?code=authcode-888&state=abc',
    },
    'request with %s',
    'Basic basic-999',
  );
  log.error({ err: new GatewayError('INVALID_GRANT', `grant refused for url https://x/?jwt=${JWT}`, { details: { reason: 'inactive' } }) }, 'failed');
  log.warn(`free text with Bearer tok-refresh-222 and ${JWT}`);

  const raw = out.raw();
  for (const s of SECRETS) assert.ok(!raw.includes(s), `"${s}" leaked into the log`);
  const [first, second, third] = out.lines();
  const req = first?.['req'] as { url: string; headers: Record<string, string> };
  assert.equal(req.headers['Authorization'], REDACTED);
  assert.equal(req.headers['x-request-id'], 'r-1', 'harmless headers are kept');
  assert.equal(req.url, `/installed?lic=none&jwt=${REDACTED}&ok=1`);
  assert.equal((first?.['tenant'] as Record<string, string>)['clientKey'], 'client-visible');
  assert.equal((first?.['grant'] as Record<string, unknown>)['expires_in'], 900);
  assert.equal(first?.['msg'], `request with Basic ${REDACTED}`);
  const err = second?.['err'] as Record<string, unknown>;
  assert.equal(err['code'], 'INVALID_GRANT', 'error codes stay readable');
  assert.match(String(err['message']), /jwt=\[REDACTED\]/);
  assert.match(String(third?.['msg']), /Bearer \[REDACTED\]/);
});

test('redact() as a table', () => {
  const cases: [unknown, unknown][] = [
    [{ token: 'x' }, { token: REDACTED }],
    [{ Token: null }, { Token: null }],
    [{ 'X-Acpt': 'x', 'set-cookie': ['a'] }, { 'X-Acpt': REDACTED, 'set-cookie': REDACTED }],
    [{ nested: [{ refreshToken: 'r' }] }, { nested: [{ refreshToken: REDACTED }] }],
    [{ code: 'INVALID_GRANT', state: 'linked', key: 'com.example.app' }, { code: 'INVALID_GRANT', state: 'linked', key: 'com.example.app' }],
    ['https://u:p@host/x', `https://${REDACTED}@host/x`],
    ['/cb?state=s1&code=c1', `/cb?state=${REDACTED}&code=${REDACTED}`],
    ['Authorization: JWT abc.def.ghi', `Authorization: JWT ${REDACTED}`],
    // Link-session tokens ride in paths and in `session=`; API keys and completion codes have their own prefixes.
    ['GET /link/obl_Zm9vYmFyYmF6cXV4cXV1eA-_12 200', `GET /link/obl_${REDACTED} 200`],
    ['/connect/link?session=obl_Zm9vYmFyYmF6cXV4cXV1eA&xdm_e=x', `/connect/link?session=obl_${REDACTED}&xdm_e=x`],
    [{ msg: 'key obk_abcdefghijklmnopqrstuvwxyz and code obc_abcdefghijklmnopqrstuv' }, { msg: `key obk_${REDACTED} and code obc_${REDACTED}` }],
    ['a short obl_abc is not a token', 'a short obl_abc is not a token'],
  ];
  for (const [input, expected] of cases) assert.deepEqual(redact(input), expected, JSON.stringify(input));
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  assert.deepEqual(redact(cyclic), { a: 1, self: '[Circular]' });
  assert.equal(redactString('nothing to hide'), 'nothing to hide');
});
