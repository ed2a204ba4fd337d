/**
 * The control-plane calls a producer makes before PutMedia, through the real
 * @aws-sdk/client-kinesis-video: find or create the stream, then ask for its data endpoint.
 */
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetDataEndpointCommand,
  KinesisVideoClient,
  type APIName,
} from '@aws-sdk/client-kinesis-video';
import type { Credentials } from '../auth/sigv4.ts';
import { KvsClientError, StreamNotFoundError } from './put-media-client.ts';

/** A control-plane client for `endpoint` (kept as given, minus a trailing slash that would give "//op"), signing with `credentials`. */
export function controlPlaneClient(endpoint: string, credentials: Credentials): KinesisVideoClient {
  // The SDK's multi-line "upgrade to Node 22" warning is noise to a CLI user on Node 20; an explicit env value wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new KinesisVideoClient({
    endpoint: endpoint.replace(/\/+$/, ''),
    region: process.env.AWS_REGION || 'us-east-1',
    credentials,
    maxAttempts: 2,
  });
}

export interface EnsuredStream {
  streamArn: string | undefined;
  created: boolean;
}

/** DescribeStream; on ResourceNotFoundException creates it (24 h retention) when `create`, else throws it. */
export async function ensureStream(endpoint: string, name: string, create: boolean, credentials: Credentials): Promise<EnsuredStream> {
  const kv = controlPlaneClient(endpoint, credentials);
  try {
    try {
      const out = await kv.send(new DescribeStreamCommand({ StreamName: name }));
      return { streamArn: out.StreamInfo?.StreamARN, created: false };
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
      if (!create) {
        throw new StreamNotFoundError(name, endpoint);
      }
    }
    try {
      const out = await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
      return { streamArn: out.StreamARN, created: true };
    } catch (err) {
      // Another producer created it between our describe and create: that is what we wanted.
      if (errorName(err) === 'ResourceInUseException') return { streamArn: undefined, created: false };
      throw err;
    }
  } catch (err) {
    throw asKvsClientError(err);
  } finally {
    kv.destroy();
  }
}

/** GetDataEndpoint for `apiName`, without a trailing slash. */
export async function dataEndpoint(endpoint: string, name: string, apiName: APIName | `${APIName}`, credentials: Credentials): Promise<string> {
  const kv = controlPlaneClient(endpoint, credentials);
  try {
    const out = await kv.send(new GetDataEndpointCommand({ StreamName: name, APIName: apiName as APIName }));
    if (!out.DataEndpoint) throw new Error(`GetDataEndpoint(${apiName}) returned no DataEndpoint`);
    return out.DataEndpoint.replace(/\/+$/, '');
  } catch (err) {
    throw asKvsClientError(err);
  } finally {
    kv.destroy();
  }
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** SDK service exceptions become KvsClientError (name + HTTP status); network errors pass through. */
function asKvsClientError(err: unknown): unknown {
  if (err instanceof KvsClientError || !(err instanceof Error)) return err;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined || !('$fault' in err)) return err;
  return new KvsClientError(err.name, status, err.message);
}
