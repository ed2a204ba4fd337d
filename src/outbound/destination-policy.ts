/**
 * Who may send the server where. Destinations the operator configured at start are trusted;
 * destinations that arrive through the API must match an allow-list pattern, and may connect only
 * to public addresses unless a matching pattern names the address. Pure.
 */
import { isPublicAddress, canonicalAddress } from './address-class.ts';
import { matchingPatterns, parseDestinationPatterns, type DestinationPattern } from './destination-patterns.ts';

/** `operator`: from flags, env or the config file. `api`: stored through an API call (a client chose it). */
export type Trust = 'operator' | 'api';

export const ALLOW_FLAG_HINT = 'start the server with --allow-destination PATTERN (or KESTREL_ALLOW_DESTINATIONS), e.g. --allow-destination "https://hooks.example.com/*"';

export type Verdict = { ok: true } | { ok: false; reason: string };

export class DestinationPolicy {
  readonly patterns: readonly DestinationPattern[];

  constructor(patterns: readonly DestinationPattern[] | readonly string[] = []) {
    this.patterns = patterns.length > 0 && typeof patterns[0] === 'string' ? parseDestinationPatterns(patterns as string[]) : (patterns as DestinationPattern[]);
  }

  /**
   * May an API client store this destination? http(s) URLs always need a matching pattern (an
   * `http://` URI that does not even parse is refused too). s3:// buckets
   * and SNS topic ARNs are names on an endpoint the operator chose (or AWS), not network addresses: they
   * are accepted unless the operator restricted them with at least one s3:// (or arn:) pattern.
   */
  checkApiDestination(uri: string): Verdict {
    const kind = destinationKind(uri);
    // Anything else is never called (delivery logs and skips it, as before): no network reach to guard.
    if (kind === 'other') return { ok: true };
    const restricted = kind === 'http' || this.patterns.some((p) => patternKind(p) === kind);
    if (!restricted || matchingPatterns(this.patterns, uri).length > 0) return { ok: true };
    return { ok: false, reason: `destination ${JSON.stringify(uri)} matches no allowed destination pattern; to allow it, ${ALLOW_FLAG_HINT}` };
  }

  /** Which resolved addresses an API-set URL may connect to: public ones, plus those a matching pattern names. */
  addressFilter(uri: string): (address: string) => boolean {
    const named = new Set<string>();
    for (const p of matchingPatterns(this.patterns, uri)) if (p.kind === 'url' && p.address !== undefined) named.add(p.address);
    return (address) => named.has(canonicalAddress(address)) || isPublicAddress(address);
  }
}

type DestinationKind = 'http' | 's3' | 'arn' | 'other';

function destinationKind(uri: string): DestinationKind {
  if (/^https?:/i.test(uri)) return 'http';
  if (/^s3:\/\//i.test(uri)) return 's3';
  if (/^arn:/i.test(uri)) return 'arn';
  return 'other';
}

function patternKind(p: DestinationPattern): DestinationKind {
  if (p.kind === 'arn') return 'arn';
  return p.scheme === 's3' ? 's3' : 'http';
}
