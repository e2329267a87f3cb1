/**
 * A `Response` for an answer whose body the transport already read whole (small, of known size).
 *
 * A platform Response costs a web stream for its body, a Headers object built and validated pair by pair,
 * and reading it back goes through the stream again: on a small GET that was more of the app process's CPU
 * than the HTTP request itself (docs/benchmarks.md, session 7). This object answers what the act-as client
 * and apps read on every call (status, ok, arrayBuffer, bytes, text, json) straight from the bytes, builds
 * its Headers only when they are first read, and builds a platform Response only for what needs one (body
 * as a stream, formData); once built, that Response answers everything, so the two never disagree.
 *
 * It passes `instanceof Response` (the prototype chain is Response's, as @hono/node-server's lightweight
 * Response does). Every Response member is defined here, so no platform getter is ever called on it.
 */
const PlatformResponse = globalThis.Response;

const decoder = new TextDecoder();

/** The bytes of a WholeResponse whose body nothing has read yet, handed out once (the proxy writes them as they are). */
export function takeWholeBytes(response: Response): Uint8Array | undefined {
  return WholeResponse.isWhole(response) ? response.takeBytes() : undefined;
}

/**
 * A response's headers as name, value, name, value, ...: a WholeResponse's as they came off the wire (no
 * Headers object built), any other Response's from its Headers.
 */
export function responseHeaderList(response: Response): readonly string[] {
  if (WholeResponse.isWhole(response)) return response.rawHeaderList();
  const out: string[] = [];
  response.headers.forEach((value, name) => out.push(name, value));
  return out;
}

export class WholeResponse {
  readonly #status: number;
  readonly #statusText: string;
  /** As node:http and undici give them: name, value, name, value, ... */
  readonly #rawHeaders: readonly string[];
  #headers: Headers | undefined;
  #bytes: Uint8Array | null;
  #used = false;
  #platform: Response | undefined;

  static isWhole(value: object): value is WholeResponse {
    return #bytes in value;
  }

  constructor(status: number, statusText: string, rawHeaders: readonly string[], bytes: Uint8Array | null) {
    this.#status = status;
    this.#statusText = statusText;
    this.#rawHeaders = rawHeaders;
    this.#bytes = bytes;
  }

  /** The headers as received (see responseHeaderList). */
  rawHeaderList(): readonly string[] {
    return this.#rawHeaders;
  }

  /** The body's bytes if unread (and marks it read), else undefined. */
  takeBytes(): Uint8Array | undefined {
    if (this.#platform !== undefined || this.#used || this.#bytes === null) return undefined;
    this.#used = true;
    return this.#bytes;
  }

  get status(): number {
    return this.#status;
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status < 300;
  }
  get statusText(): string {
    return this.#statusText;
  }
  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
      this.#headers = headers;
    }
    return this.#headers;
  }
  get url(): string {
    return '';
  }
  get redirected(): boolean {
    return false;
  }
  get type(): Response['type'] {
    return 'default';
  }
  get body(): ReadableStream<Uint8Array> | null {
    return this.#bytes === null ? null : this.#toPlatform().body;
  }
  get bodyUsed(): boolean {
    return this.#platform !== undefined ? this.#platform.bodyUsed : this.#used;
  }

  /** The bytes once: a second read fails as a platform Response's does. */
  #take(): Uint8Array {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes ?? new Uint8Array(0);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#platform !== undefined) return this.#platform.arrayBuffer();
    try {
      const b = this.#take();
      return Promise.resolve(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  bytes(): Promise<Uint8Array> {
    if (this.#platform !== undefined) return this.#platform.arrayBuffer().then((b) => new Uint8Array(b));
    try {
      return Promise.resolve(new Uint8Array(this.#take()));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  text(): Promise<string> {
    if (this.#platform !== undefined) return this.#platform.text();
    try {
      return Promise.resolve(decoder.decode(this.#take()));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  json(): Promise<unknown> {
    if (this.#platform !== undefined) return this.#platform.json();
    try {
      return Promise.resolve(JSON.parse(decoder.decode(this.#take())) as unknown);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  blob(): Promise<Blob> {
    if (this.#platform !== undefined) return this.#platform.blob();
    try {
      const bytes = this.#take();
      return Promise.resolve(new Blob([bytes], { type: this.headers.get('content-type') ?? '' }));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  formData(): Promise<FormData> {
    return this.#toPlatform().formData();
  }
  clone(): Response {
    if (this.#platform !== undefined) return this.#platform.clone();
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    return new WholeResponse(this.#status, this.#statusText, this.#rawHeaders, this.#bytes) as unknown as Response;
  }

  /** The platform Response, built once; its body is already read when this one's was. */
  #toPlatform(): Response {
    if (this.#platform === undefined) {
      const platform = new PlatformResponse(this.#bytes, { status: this.#status, statusText: this.#statusText, headers: this.headers });
      // Read through the fast path already: the platform one must say so too (bodyUsed, a second read fails).
      if (this.#used) void platform.arrayBuffer();
      this.#platform = platform;
    }
    return this.#platform;
  }
}
Object.setPrototypeOf(WholeResponse.prototype, PlatformResponse.prototype);
