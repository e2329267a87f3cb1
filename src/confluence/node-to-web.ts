import type { Readable } from 'node:stream';

/**
 * A node Readable as a web ReadableStream, with backpressure both ways. Node's own `Readable.toWeb` (20.x)
 * can throw "Controller is already closed" from a 'data' event that arrives after the web side was
 * cancelled, an uncaught exception that takes the process down: a caller that cancels a large answer, or
 * a client that goes away mid-body, must never do that. Here nothing is enqueued once the web side is
 * closed, cancelled or errored, and a readable that closes without ending is an error, not a hang.
 */
export function nodeToWeb(readable: Readable, highWaterMark = 64 * 1024): ReadableStream<Uint8Array> {
  let closed = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        readable.pause();
        readable.on('data', (chunk: Buffer) => {
          if (closed) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) readable.pause();
        });
        readable.once('end', () => {
          if (closed) return;
          closed = true;
          controller.close();
        });
        readable.once('error', (e) => {
          if (closed) return;
          closed = true;
          controller.error(e);
        });
        readable.once('close', () => {
          if (closed) return;
          closed = true;
          controller.error(new TypeError('The body ended before it was complete.'));
        });
      },
      pull() {
        readable.resume();
      },
      cancel(reason) {
        closed = true;
        readable.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark }),
  );
}
