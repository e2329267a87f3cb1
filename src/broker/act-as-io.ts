import type { Clock } from '../clock.js';
import type { UpstreamCallInfo } from '../confluence/create-act-as-client.js';

/** What every maker of act-as clients takes from the gateway: the transport, time, retries' sleep and jitter, the call hook. */
export interface ActAsIo {
  fetch: typeof fetch;
  clock: Clock;
  /** Plain http to the site (the sandbox, tests); never in production. */
  allowInsecureHttp: boolean;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onUpstreamCall?: (info: UpstreamCallInfo) => void;
}
