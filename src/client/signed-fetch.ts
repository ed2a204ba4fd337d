/**
 * `fetch` with a SigV4 signature (service kinesisvideo), for the CLI's calls to Kestrel's own API
 * (/api/v1/*: jobs, users, keys, detection overrides). Bodies are strings (JSON); the payload hash is real.
 */
import { EMPTY_SHA256, sha256Hex, signHeaders, type Credentials } from '../auth/sigv4.ts';

export interface SigningContext {
  credentials: Credentials;
  region: string;
}

export function signedFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }, signing: SigningContext | undefined): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = { ...init.headers };
  const signed = signing
    ? signHeaders({ method, url, headers, payloadHash: init.body ? sha256Hex(init.body) : EMPTY_SHA256, credentials: signing.credentials, region: signing.region })
    : headers;
  return fetch(url, { method, headers: signed, ...(init.body !== undefined ? { body: init.body } : {}), ...(init.signal ? { signal: init.signal } : {}) });
}
