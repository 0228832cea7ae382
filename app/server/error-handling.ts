import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, validationError } from './errors.js';

/** Shared JSON schema of {@link ErrorBody}. Property order is the wire order (fast-json-stringify keeps it). */
export const errorBodySchema = {
  $id: 'error-body',
  type: 'object',
  required: ['detail'],
  properties: {
    detail: {
      type: 'object',
      required: ['error_code', 'message', 'technical_details'],
      properties: {
        error_code: { type: 'string' },
        message: { type: 'string' },
        technical_details: {
          type: 'object',
          required: ['error_type', 'suggestion'],
          properties: { error_type: { type: 'string' }, suggestion: { type: 'string' }, field: { type: 'string' } },
        },
      },
    },
  },
} as const;

/**
 * Every failure leaves the server in the one error shape. Expected client errors are logged at info, server-side
 * failures at error with their cause; the response carries only the mapped, secret-free text.
 */
export const errorHandlingPlugin = fp(
  async (fastify) => {
    fastify.addSchema(errorBodySchema);

    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const appError = toHttpError(error);
      if (appError.statusCode >= 500) {
        request.log.error({ err: error.cause ?? error, errorCode: appError.code }, appError.message);
      } else {
        request.log.info({ errorCode: appError.code }, appError.message);
      }
      return reply.code(appError.statusCode).send(appError.toBody());
    });

    fastify.setNotFoundHandler((request, reply) => {
      const error = new AppError(
        'NOT_FOUND',
        // Bounded: a long URL is not echoed back whole (nor logged through the message).
        `No route for ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 256)}.`,
      );
      return reply.code(error.statusCode).send(error.toBody());
    });
  },
  { name: 'error-handling', fastify: '5.x' },
);

function toHttpError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    const first = error.validation[0];
    const where = error.validationContext ?? 'request';
    return validationError(where, `${where}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return validationError('body', 'body is not valid JSON', 'INVALID_JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return validationError('body', 'body is too large', 'VALUE_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'body must be sent as application/json');
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx (e.g. 413 from a limit it enforces) keeps its status.
    return new AppError('BAD_REQUEST', error.message, { status });
  }
  return new AppError('INTERNAL_ERROR', 'Internal server error.');
}
