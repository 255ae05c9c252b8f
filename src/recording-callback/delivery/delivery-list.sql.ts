import { In } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { DeliveryEntity } from './delivery.entity';
import type { DeliveryStatus } from './delivery.entity';

/**
 * One page of deliveries, newest first (keyset by id, before `cursor` when given); at most `take` rows.
 *
 * @example
 * const rows = await deliveryPage(em, { status: 'dead' }, 51);
 */
export function deliveryPage(
  em: EntityManager,
  filter: { status?: DeliveryStatus; taskId?: string; cursor?: number },
  take: number,
): Promise<DeliveryEntity[]> {
  const qb = em.getRepository(DeliveryEntity).createQueryBuilder('d').where('1 = 1');
  if (filter.status) qb.andWhere('d.status = :status', { status: filter.status });
  if (filter.taskId) qb.andWhere('d.task_id = :taskId', { taskId: filter.taskId });
  if (filter.cursor !== undefined) qb.andWhere('d.id < :cursor', { cursor: filter.cursor });
  return qb.orderBy('d.id', 'DESC').limit(take).getMany();
}

/**
 * How many deliveries have each of `statuses` (statuses with none are left out).
 *
 * @example
 * await deliveryCountsByStatus(em, ['pending', 'failed', 'dead']); // [{ status: 'dead', n: 2 }]
 */
export function deliveryCountsByStatus(
  em: EntityManager,
  statuses: readonly DeliveryStatus[],
): Promise<Array<{ status: DeliveryStatus; n: number | string }>> {
  return em
    .getRepository(DeliveryEntity)
    .createQueryBuilder('d')
    .select('d.status', 'status')
    .addSelect('COUNT(*)', 'n')
    .where({ status: In([...statuses]) })
    .groupBy('d.status')
    .getRawMany();
}
