import { GatewayError } from '../errors.js';

export function parsePort(value: unknown, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new GatewayError('BAD_REQUEST', `${flag} must be a whole number from 0 to 65535, got "${text}".`);
  return n;
}
