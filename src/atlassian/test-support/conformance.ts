import { readFileSync } from 'node:fs';

export interface ConformanceVector {
  name: string;
  canonicalUrl: string;
  signedUrl: string;
  /** The `jwt` query parameter of `signedUrl`. */
  token: string;
}

export interface ConformanceFile {
  secret: string;
  comment: string;
  tests: ConformanceVector[];
}

/** Reads the official vectors kept unchanged in test/conformance/ (their source is named in its README). */
export function loadConformanceVectors(): ConformanceFile {
  const url = new URL('../../../test/conformance/jwt-signed-urls.json', import.meta.url);
  const raw = JSON.parse(readFileSync(url, 'utf8')) as {
    secret: string;
    comment: string;
    tests: Array<{ name: string; canonicalUrl: string; signedUrl: string }>;
  };
  return {
    secret: raw.secret,
    comment: raw.comment,
    tests: raw.tests.map((t) => {
      const match = /[?&]jwt=([^&#]+)/.exec(t.signedUrl);
      if (match?.[1] === undefined) throw new Error(`vector ${t.name} has no jwt parameter`);
      return { ...t, token: match[1] };
    }),
  };
}
