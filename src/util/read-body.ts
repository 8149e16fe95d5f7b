import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {}

/** A request body, refused (BodyTooLarge) as soon as it passes `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.pause();
        reject(new BodyTooLarge());
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away (or is cut by the request timeout) mid-body: nothing more will come.
    req.on('close', () => reject(new Error('connection closed before the body ended')));
  });
}
