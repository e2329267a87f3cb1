import assert from 'node:assert/strict';
import { isGatewayError, type GatewayError } from '../../errors.js';

/** The GatewayError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isGatewayError(e), `a GatewayError, got ${String(e)}`);
    return e;
  }
  return assert.fail('expected a refusal');
}
