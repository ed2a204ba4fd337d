/**
 * A tiny local endpoint for the SNS Query API `Publish` action (no SNS runs on test machines):
 * records each Publish and answers with the XML the real SNS client decodes.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SnsPublish {
  topicArn: string;
  subject: string | null;
  message: string;
  authorization: string | undefined;
}

export interface TestSns {
  endpoint: string;
  published: SnsPublish[];
  close(): Promise<void>;
}

export async function startSnsPublishServer(): Promise<TestSns> {
  const published: SnsPublish[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (req.method !== 'POST' || form.get('Action') !== 'Publish' || !form.get('TopicArn') || form.get('Message') === null) {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>bad request</Message></Error><RequestId>x</RequestId></ErrorResponse>');
        return;
      }
      published.push({ topicArn: form.get('TopicArn')!, subject: form.get('Subject'), message: form.get('Message')!, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    published,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
