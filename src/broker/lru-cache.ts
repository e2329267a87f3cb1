/**
 * A bounded map that forgets the least recently used entry when full. Map keeps insertion order, so a
 * hit re-inserts its key at the end and the first key is always the coldest: O(1) for get, set and evict.
 */
export interface LruCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): boolean;
  /** Removes every entry the predicate selects (e.g. all tokens of an uninstalled tenant); returns how many. */
  deleteWhere(predicate: (key: string, value: V) => boolean): number;
  readonly size: number;
}

export function createLruCache<V>(options: { maxEntries: number }): LruCache<V> {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
  const map = new Map<string, V>();
  return {
    get(key) {
      const v = map.get(key);
      if (v === undefined) return undefined;
      map.delete(key);
      map.set(key, v);
      return v;
    },
    set(key, value) {
      if (map.has(key)) map.delete(key);
      map.set(key, value);
      if (map.size > options.maxEntries) {
        const coldest = map.keys().next().value;
        if (coldest !== undefined) map.delete(coldest);
      }
    },
    delete: (key) => map.delete(key),
    deleteWhere(predicate) {
      let n = 0;
      for (const [k, v] of map) {
        if (predicate(k, v)) {
          map.delete(k);
          n++;
        }
      }
      return n;
    },
    get size() {
      return map.size;
    },
  };
}
