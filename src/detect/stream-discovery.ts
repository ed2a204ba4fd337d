/** Standalone worker: discovers streams with ListStreams (KVS control plane). */
import { KinesisVideoClient, ListStreamsCommand, type KinesisVideoClientConfig } from '@aws-sdk/client-kinesis-video';

export function listStreamsViaSdk(clientConfig: KinesisVideoClientConfig): () => Promise<string[]> {
  const kv = new KinesisVideoClient(clientConfig);
  return async () => {
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const out = await kv.send(new ListStreamsCommand({ MaxResults: 100, ...(NextToken ? { NextToken } : {}) }));
      for (const s of out.StreamInfoList ?? []) if (s.StreamName && s.Status !== 'DELETING') names.push(s.StreamName);
      NextToken = out.NextToken;
    } while (NextToken);
    return names;
  };
}
