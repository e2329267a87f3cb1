/** `X-RateLimit-Reset` is "request timestamp plus the Retry-After period", format `yyyy-MM-ddTHH:mmZ`. */
export function rateLimitResetHeader(nowMs: number, retryAfterSeconds: number): string {
  return new Date(nowMs + retryAfterSeconds * 1000).toISOString().slice(0, 16) + 'Z';
}
