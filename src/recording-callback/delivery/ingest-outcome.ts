import type { StoredDelivery } from './delivery-worker.service';

/**
 * What storing one callback produced: stored (with what became of its delivery), a
 * duplicate of a stored one, or refused because its task belongs to another domain, app or stream.
 *
 * @example
 * if (outcome.result === 'accepted') void worker.handOver(dto.task_id, outcome.delivery);
 */
export type IngestOutcome =
  | { result: 'accepted'; callbackId: number; delivery: StoredDelivery }
  | { result: 'duplicate'; callbackId: number }
  | {
      result: 'mismatch';
      fields: Array<{ field: 'publish_domain' | 'app' | 'stream'; given: string; stored: string }>;
    };
