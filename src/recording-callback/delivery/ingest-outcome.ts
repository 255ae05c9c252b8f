import type { DeliveryRow } from './delivery-worker.service';

/**
 * What storing one callback produced: stored (with the delivery this instance claimed, if any), a
 * duplicate of a stored one, or refused because its task belongs to another domain, app or stream.
 *
 * @example
 * if (outcome.result === 'accepted') void worker.kick(dto.task_id, outcome.delivery);
 */
export type IngestOutcome =
  | { result: 'accepted'; callbackId: number; delivery?: DeliveryRow }
  | { result: 'duplicate'; callbackId: number }
  | { result: 'mismatch'; fields: string[] };
