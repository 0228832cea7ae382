import net from 'node:net';
import tls from 'node:tls';

/** A response read off the wire: status, the raw header block, and the body bytes as text. */
export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends `request` as raw bytes to 127.0.0.1:`port` (TLS when `ca` is given, checked against `servername`) and returns
 * the raw response: for requests no HTTP client library would send (no Host, two Host headers, a malformed
 * percent-encoding). Reading stops at the end of a complete Content-Length response, when the server closes, or after
 * `timeoutMs` (default 5 s).
 */
export async function rawRequest(
  port: number,
  request: Buffer | string,
  options: { ca?: string; servername?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const socket = options.ca
    ? tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: options.servername ?? 'localhost' })
    : net.connect(port, '127.0.0.1');
  socket.setTimeout(options.timeoutMs ?? 5_000, () => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    // Keep-alive responses leave the socket open: stop once a complete response with a body has arrived.
    const text = Buffer.concat(chunks).toString('utf8');
    const length = /content-length: (\d+)/i.exec(text)?.[1];
    const split = text.indexOf('\r\n\r\n');
    if (length && split >= 0 && Buffer.byteLength(text.slice(split + 4)) >= Number(length)) socket.end();
  });
  socket.on('error', () => {});
  socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  await new Promise((resolve) => socket.once('close', resolve));
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]),
    headers: split >= 0 ? text.slice(0, split) : text,
    body: split >= 0 ? text.slice(split + 4) : '',
  };
}
