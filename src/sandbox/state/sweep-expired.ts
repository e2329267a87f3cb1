/**
 * Drops expired entries once a token map grows past `threshold`, so long benchmark runs do not grow the
 * sandbox's memory without bound. Cheap enough to call on every issue.
 */
export function sweepExpired<T extends { expiresAt: number }>(map: Map<string, T>, nowMs: number, threshold = 10_000): void {
  if (map.size <= threshold) return;
  for (const [k, v] of map) if (v.expiresAt <= nowMs) map.delete(k);
}
