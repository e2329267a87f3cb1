import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

/** The shell of every server-rendered page: no inline script, one stylesheet, readable at phone width. */
export function Layout(props: { title: string; assetsBase: string; scripts?: string[]; children?: Child }) {
  // Without the doctype, browsers lay pages out in quirks mode: there the body stretches to the window,
  // so a frame sized to its body grew every time the host resized it (seen in Chromium).
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.title}</title>
          <link rel="icon" type="image/svg+xml" href={`${props.assetsBase}/favicon.svg`} />
          <link rel="stylesheet" href={`${props.assetsBase}/assets/onbehalf.css`} />
          {(props.scripts ?? []).map((src) => (
            <script src={src} defer></script>
          ))}
        </head>
        <body>
          <main class="ob-main">{props.children}</main>
        </body>
      </html>
    </>
  );
}

/** A message box; errors are announced at once (role=alert), the rest politely (role=status). */
export function Notice(props: { kind: 'error' | 'info' | 'success'; title: string; next?: string; id?: string; actions?: Child; children?: Child }) {
  return (
    <section class={`ob-notice ob-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'} {...(props.id ? { id: props.id } : {})}>
      <h1>{props.title}</h1>
      {props.children}
      {props.next ? (
        <p class="ob-next">
          <strong>What to do next:</strong> {props.next}
        </p>
      ) : null}
      {props.actions ? <p class="ob-actions">{props.actions}</p> : null}
    </section>
  );
}
