/** Largest id a delivery (an `integer` column) can have; larger ids name no delivery. */
export const MAX_DELIVERY_ID = 2_147_483_647;

/**
 * The one statement that replays deliveries, shared by the HTTP route and the operator CLI: due now,
 * attempts reset, and handlers that already succeeded kept (except for a fully delivered delivery,
 * which goes to every handler again). A delivery that is running (leased) is left alone, so its
 * outcome cannot overwrite the replay. Parameters: `now, now, ...whereParams, now`; `?` placeholders.
 *
 * @example
 * writes.rows(em, replayStatement(pg, 'id = ?'), [now, now, id, now]);
 */
export function replayStatement(postgres: boolean, where: string): string {
  const empty = postgres ? `'[]'::jsonb` : `'[]'`;
  return `UPDATE recording_deliveries
     SET succeeded_handlers = CASE WHEN status = 'delivered' THEN ${empty} ELSE succeeded_handlers END,
         status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
   WHERE ${where} AND (lease_until IS NULL OR lease_until < ?)
   RETURNING id, task_id, event_type`;
}
