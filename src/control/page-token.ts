/**
 * ListStreams NextToken: opaque to clients, base64 of the last name returned (names are unique and
 * listed in order, so "names after this one" resumes exactly, even if streams come and go meanwhile).
 * Standard base64 keeps it inside the model's [a-zA-Z0-9+/=]* pattern.
 */
import { invalidArgument } from '../shared/errors.ts';
import { checkString, STREAM_NAME } from './validate.ts';

export function encodePageToken(afterName: string): string {
  return Buffer.from(JSON.stringify({ after: afterName }), 'utf8').toString('base64');
}

/** The name to resume after; a token we did not issue is InvalidArgumentException. */
export function decodePageToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    const after = (parsed as { after?: unknown } | null)?.after;
    return checkString('NextToken', after, STREAM_NAME);
  } catch {
    throw invalidArgument('Invalid value at \'NextToken\': not a token issued by this server.');
  }
}
