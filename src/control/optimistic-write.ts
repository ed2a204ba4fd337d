/**
 * Control-plane writes under optimistic concurrency: read the stream, apply the change, save only if
 * nobody saved in between (StaleStreamError otherwise), and on a conflict read again and re-apply —
 * correct with any number of nodes, with no lock held anywhere.
 */
import { streamNotFound } from '../shared/errors.ts';
import { StaleStreamError, type StreamRecord, type StreamRepository } from '../store/types.ts';

const MAX_WRITE_ATTEMPTS = 25;
const retryPause = (attempt: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));

export async function writeWithRetry(repo: Pick<StreamRepository, 'getById' | 'save'>, id: number, change: (rec: StreamRecord) => void): Promise<StreamRecord> {
  for (let attempt = 1; ; attempt++) {
    const rec = await repo.getById(id);
    if (!rec) throw streamNotFound();
    change(rec);
    try {
      return await repo.save(rec);
    } catch (err) {
      if (!(err instanceof StaleStreamError) || attempt >= MAX_WRITE_ATTEMPTS) throw err;
    }
    await retryPause(attempt);
  }
}
