import { invalidParameter } from './api-error.js';

/** Largest page either Lakebase API serves. */
export const MAX_PAGE_SIZE = 100;

/**
 * One page of `items` (already in a stable order by `key`). The page token is opaque to clients: base64url of the
 * last key served, so deleting items between pages neither skips nor repeats any. `next_page_token` is left out when
 * there is nothing more, as the SDKs expect.
 */
export function paginate<T>(
  items: T[],
  key: (item: T) => string,
  pageSize: number | undefined,
  pageToken: string | undefined,
): { page: T[]; nextPageToken?: string } {
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 0)) {
    throw invalidParameter(`page_size must be a non-negative integer, got ${pageSize}.`);
  }
  // 0 means "server default", as in the protobuf APIs; larger than the maximum is clamped rather than refused.
  const size = pageSize === undefined || pageSize === 0 ? MAX_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  let start = 0;
  if (pageToken) {
    const after = decodeToken(pageToken);
    start = items.findIndex((item) => key(item) > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + size);
  const last = page.at(-1);
  if (start + size < items.length && last !== undefined) return { page, nextPageToken: encodeToken(key(last)) };
  return { page };
}

function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { after?: unknown }).after === 'string') {
      return (parsed as { after: string }).after;
    }
  } catch {
    // fall through: any undecodable token is the caller's mistake
  }
  throw invalidParameter(`Invalid page_token: '${token}'.`);
}
