import { createHash } from 'node:crypto';

/**
 * The clientKey Confluence gives an app on a site. Atlassian keeps it for the life of the pair: a reinstall
 * brings a new shared secret, never a new clientKey (protocol notes §2). The sandbox keeps no state between
 * runs, so it derives the key from the site's cloud id and the app key instead of remembering it: a
 * restarted sandbox hands a gateway the same clientKey it installed before. UUID-shaped, as Atlassian's are.
 */
export function clientKeyFor(cloudId: string, appKey: string): string {
  const h = createHash('sha256').update(`connect-client-key\u0000${cloudId}\u0000${appKey}`).digest('hex');
  // Version 5-style layout (name-based): version nibble 5, RFC 4122 variant bits.
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
