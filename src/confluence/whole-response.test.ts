import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { takeWholeBytes, WholeResponse } from './whole-response.js';

const make = (body: string | null = '{"a":1}', status = 200) =>
  new WholeResponse(status, 'OK', ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'], body === null ? null : Buffer.from(body)) as unknown as Response;

describe('WholeResponse: a Response read from a body already in memory', () => {
  it('is a Response to instanceof and answers status, ok, statusText and headers (each Set-Cookie kept)', () => {
    const r = make();
    assert.ok(r instanceof Response);
    assert.equal(r.status, 200);
    assert.equal(r.ok, true);
    assert.equal(make('x', 404).ok, false);
    assert.equal(r.statusText, 'OK');
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(r.headers, r.headers, 'built once');
    assert.equal(r.redirected, false);
    assert.equal(r.type, 'default');
  });

  it('reads the body once, by any reader, as a platform Response does', async () => {
    const r = make();
    assert.equal(r.bodyUsed, false);
    assert.deepEqual(await r.json(), { a: 1 });
    assert.equal(r.bodyUsed, true);
    await assert.rejects(r.text(), TypeError);
    await assert.rejects(r.arrayBuffer(), TypeError);
    assert.equal(r.body?.locked ?? true, true, 'the stream of a read body is not readable again');
    assert.equal(new TextDecoder().decode(await make('héllo').arrayBuffer()), 'héllo');
    assert.deepEqual([...(await (make('ab') as unknown as WholeResponse).bytes())], [97, 98]);
    assert.equal(await (await make('blob').blob()).text(), 'blob');
    assert.equal(await make('\ufefftext').text(), 'text', 'a BOM is dropped as fetch drops it');
    await assert.rejects(make('not json').json(), SyntaxError);
  });

  it('hands its body as a stream when asked, and then answers everything from that platform Response', async () => {
    const r = make('streamed');
    const body = r.body;
    assert.ok(body instanceof ReadableStream);
    assert.equal(await new Response(body).text(), 'streamed');
    assert.equal(r.bodyUsed, true);
    await assert.rejects(r.text(), TypeError);
    assert.equal(make(null).body, null);
    assert.equal(await make(null).text(), '');
  });

  it('clones an unread body; a read one cannot be cloned', async () => {
    const r = make('twice');
    const c = r.clone();
    assert.equal(await c.text(), 'twice');
    assert.equal(await r.text(), 'twice');
    assert.throws(() => r.clone(), TypeError);
  });

  it('gives its bytes to takeWholeBytes once, unread only; nothing for another Response', async () => {
    const r = make('raw');
    assert.equal(Buffer.from(takeWholeBytes(r) ?? []).toString(), 'raw');
    assert.equal(takeWholeBytes(r), undefined);
    await assert.rejects(r.text(), TypeError, 'taken counts as read');
    const read = make('read');
    await read.text();
    assert.equal(takeWholeBytes(read), undefined);
    assert.equal(takeWholeBytes(new Response('platform')), undefined);
  });
});
