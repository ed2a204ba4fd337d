import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { mediaLocationIndexContract } from '../../support/media-location-index-contract.ts';
import { streamRecord } from '../../support/stream-record.ts';

async function openSubject(withWriterThread: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-locations-'));
  const file = path.join(dir, 'index.sqlite');
  const db = openSqlite(file);
  const stream = await new SqliteStreamRepository(db).create(streamRecord('cam'));
  const index = new SqliteFragmentIndex(db, withWriterThread ? file : undefined);
  return {
    index,
    streamId: stream.id,
    close: async () => {
      await index.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

mediaLocationIndexContract('sqlite (inline writes)', () => openSubject(false));
mediaLocationIndexContract('sqlite (writer thread)', () => openSubject(true));
