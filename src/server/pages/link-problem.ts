import type { GatewayError } from '../../errors.js';

/** What a person sees when a linking step cannot go on: a title, what happened, and what to do next. */
export interface LinkProblem {
  title: string;
  message: string;
  next: string;
}

/**
 * Turns a linking error into words for the person in the browser. Each case names a next step, since
 * "something went wrong" leaves them stuck between two systems they do not control.
 */
export function describeLinkProblem(e: GatewayError, appName: string): LinkProblem {
  const details = e.details ?? {};
  const reason = typeof details['reason'] === 'string' ? details['reason'] : null;
  const status = typeof details['status'] === 'string' ? details['status'] : null;
  const fresh = `Go back to ${appName} and start connecting again: it will give you a new link.`;
  const otherwise = `Otherwise go back to ${appName} and start connecting again: it will give you a new link.`;
  switch (e.code) {
    case 'LINK_SESSION_EXPIRED':
      return { title: 'This link has expired', message: `This link to connect your Atlassian account to ${appName} is no longer valid.`, next: `${fresh} Links work for a short time only, so a forgotten link cannot be used later.` };
    case 'LINK_CONFLICT':
      return {
        title: 'Already linked to someone else',
        message: e.message,
        next: `Nothing was changed. If the existing link is yours, disconnect it under "Connected apps" first; otherwise ask your Confluence admin or ${appName}'s support to sort it out.`,
      };
    case 'LINK_SESSION_INVALID':
      if (status !== null || reason === 'state_replayed') {
        return { title: 'This link was already used', message: `Each link to connect your account to ${appName} works once, and this one has been used.`, next: `If you already connected your account, there is nothing more to do. ${otherwise}` };
      }
      if (reason === 'wrong_site') {
        return { title: 'This link is for another site', message: e.message, next: `Open the link while signed in to the Confluence site ${appName} asked about, or ask ${appName} for a link for this site.` };
      }
      if (reason === 'no_sites') {
        return { title: 'No Confluence site to connect', message: e.message, next: `Sign in with the Atlassian account you use for Confluence, or ask your admin to give your account access to a site where ${appName} is allowed.` };
      }
      if (reason === 'unknown_state' || reason === 'missing_state' || reason === 'no_pending_sign_in') {
        return { title: 'This sign-in cannot be finished', message: e.message, next: fresh };
      }
      return { title: 'This link is not valid', message: `${appName} did not make this link, or part of it is missing.`, next: `Check that you opened the whole link; if it still does not work, go back to ${appName} and start connecting again: it will give you a new link.` };
    case 'NOT_FOUND':
      return { title: 'Nothing to change', message: e.message, next: 'Reload the page to see your current connections.' };
    case 'VALIDATION_FAILED':
      return { title: 'Please check your choice', message: e.message, next: 'Go back, adjust your choice and try again.' };
    default:
      if (e.code.startsWith('ATLASSIAN')) {
        return { title: 'Atlassian did not answer', message: e.message, next: 'Nothing was linked. Try again in a minute; if it keeps failing, tell the person who runs this gateway.' };
      }
      return { title: 'Linking did not complete', message: e.message, next: fresh };
  }
}
