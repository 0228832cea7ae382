import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../model/api-error.js';

/**
 * Requests that never reach a route, answered in the Databricks error body like every other failure of the API
 * (reference 1.4), instead of Node's or Fastify's own answers: a request Node's parser refuses (not HTTP, a control
 * character in a header, headers or URL over Node's 16 KiB limit), a URL Fastify cannot decode, and a request that
 * breaks HTTP/1.1's Host rule. The server is made with `requireHostHeader: false` so the Host rule is checked here
 * (Node's own check answers an empty chunked body and cannot see a second Host header, which it drops).
 */

/** Fastify's `frameworkErrors`: a malformed percent-encoding in the URL (FST_ERR_BAD_URL) and the like are 400s. */
export function frameworkError(error: { code?: string; message: string }, _request: unknown, reply: unknown): void {
  const refusal =
    error.code === 'FST_ERR_BAD_URL'
      ? new ApiError(400, 'BAD_REQUEST', 'The request URL has a malformed percent-encoding.')
      : new ApiError(400, 'BAD_REQUEST', error.message);
  (reply as FastifyReply).code(refusal.statusCode).send(refusal.body());
}

/** `onRequest`: exactly one Host header on HTTP/1.1 (RFC 9112 section 3.2), at most one on HTTP/1.0. */
export async function requireOneHost(request: FastifyRequest): Promise<void> {
  let hosts = 0;
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'host') hosts++;
  const http11 = request.raw.httpVersion !== '1.0';
  if (hosts > 1 || (http11 && hosts === 0)) {
    throw new ApiError(400, 'BAD_REQUEST', 'An HTTP/1.1 request must carry exactly one Host header.');
  }
}

/** Fastify's `clientErrorHandler`: Node's parser refused the request; answer in the Databricks body and close. */
export function clientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(431, 'BAD_REQUEST', 'The request line and headers are too large (at most 16 KiB in all).')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError(408, 'BAD_REQUEST', 'The request did not arrive in time.')
        : new ApiError(400, 'BAD_REQUEST', `The request is not valid HTTP (${error.code ?? 'unparseable'}).`);
  if (socket.writable) {
    const body = JSON.stringify(refusal.body());
    socket.write(
      `HTTP/1.1 ${refusal.statusCode} ${http.STATUS_CODES[refusal.statusCode]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Server: databricks\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
