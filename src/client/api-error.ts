/**
 * An error answered by the onbehalf HTTP API, as the SDK sees it. `code` is a string rather than the
 * gateway's ErrorCode union so that an older SDK keeps working against a newer gateway with new codes.
 */
export class OnbehalfApiError extends Error {
  override readonly name = 'OnbehalfApiError';
  readonly status: number;
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly requestId: string | undefined;

  constructor(init: { status: number; code: string; message: string; details?: Record<string, unknown>; requestId?: string; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
  }
}
