import { raw } from 'hono/html';

/**
 * Head elements of the sandbox's own pages (sign-in, Atlassian consent, the Confluence host page, home):
 * readable on a phone and recognisably "the sandbox", so a screenshot or a demo tells it apart from the
 * gateway's pages inside it. Inline because the sandbox's pages already carry inline host scripts.
 */
export const SANDBOX_HEAD = raw(`<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/svg+xml" href="/favicon.ico">
<style>
body { margin: 0; font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Arial, sans-serif; color: #172b4d; background: #f7f8f9; }
body > header { background: #1d2125; color: #fff; padding: .6rem 1rem; }
body > h1, body > p, body > form, body > ul, body > section { margin-left: 1rem; margin-right: 1rem; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin-top: 1.25rem; }
h2 { font-size: 1.1rem; }
ul { padding-left: 1.25rem; }
li { margin: .3rem 0; }
code { overflow-wrap: anywhere; }
button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #c1c7d0; background: #fff; cursor: pointer; }
button#accept, button[data-account-id] { background: #0c66e4; border-color: #0c66e4; color: #fff; font-weight: 600; }
iframe.ap-iframe { background: #fff; border-radius: 8px; }
</style>`);

/** The sandbox's icon: a dark tile with a white "S", unlike the gateway's blue one, so tabs tell them apart. */
export const SANDBOX_FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1d2125"/><text x="16" y="23" font-family="Arial,sans-serif" font-size="20" font-weight="700" text-anchor="middle" fill="#fff">S</text></svg>`;
