import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

/**
 * Requests Node's HTTP parser refuses never reach Fastify's routing or error handler: control characters in a header
 * (400), headers over Node's limit (431, 16 KiB by default), a request too slow to arrive (408). Fastify's default
 * answer has its own body; this one answers in the app's error shape, then closes the connection as Node does.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError = toClientError(error.code);
  this.log.debug({ err: error, errorCode: appError.code }, 'request refused by the HTTP parser');
  if (socket.writable) {
    const body = JSON.stringify(appError.toBody());
    socket.write(
      `HTTP/1.1 ${appError.statusCode} ${http.STATUS_CODES[appError.statusCode]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}

/**
 * `onRequest`: exactly one Host header on HTTP/1.1 (RFC 9112 section 3.2), at most one on HTTP/1.0. The server is made
 * with `requireHostHeader: false` so this rule answers in the app's error shape (Node's own check sends an empty
 * chunked body, and Node drops a second Host header without a word). A callback hook: it does no I/O, and an async
 * hook costs a promise on every request.
 */
export function requireOneHost(request: FastifyRequest, _reply: FastifyReply, done: (error?: AppError) => void): void {
  let hosts = 0;
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'host') hosts++;
  if (hosts > 1 || (request.raw.httpVersion !== '1.0' && hosts === 0)) {
    done(
      new AppError('BAD_REQUEST', 'An HTTP/1.1 request must carry exactly one Host header.', {
        suggestion: 'Send the request with one Host header.',
      }),
    );
    return;
  }
  done();
}

function toClientError(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new AppError('HEADERS_TOO_LARGE', 'The request headers are too large.');
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new AppError('REQUEST_TIMEOUT', 'The request did not arrive in time.');
  }
  return new AppError(
    'BAD_REQUEST',
    `The request is not valid HTTP (${code ?? 'unparseable'}), e.g. a control character in a header.`,
  );
}
