import { createServer, type Server } from 'node:http';
import type { Witness } from './witness.ts';

/** The largest add-checkpoint body: an old-size line, 63 proof lines and a checkpoint with signatures. */
const MAX_BODY = 64 * 1024;

/** `POST <prefix>/add-checkpoint` over node:http; everything else is 404. */
export function witnessServer(witness: Witness, prefix = ''): Server {
  return createServer((req, res) => {
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.url !== `${prefix}/add-checkpoint`) return reply(404, 'not found\n');
    if (req.method !== 'POST') return reply(405, 'use POST\n');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reply(413, `the body is larger than ${MAX_BODY} bytes\n`);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      witness.addCheckpoint(Buffer.concat(chunks).toString('utf8')).then(
        (a) => reply(a.status, a.body, a.contentType),
        (err: Error) => reply(500, `${err.message}\n`),
      );
    });
  });
}
