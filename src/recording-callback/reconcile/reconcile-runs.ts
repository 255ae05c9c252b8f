import { ConflictException, Injectable } from '@nestjs/common';
import { DatabaseGateway } from '../storage/database.gateway';
import { reconcileSql } from './reconcile.sql';
import type { RunCounts } from './reconcile.sql';

/** Advisory lock key that keeps two instances from starting a run at the same moment (PostgreSQL). */
const RECONCILE_LOCK = 727_465_302;
/** How long a run's lease lasts without being extended (each page and each stored batch extends it). */
export const RUN_LEASE_MS = 5 * 60_000;

/**
 * Another run holds the lease: answered 409 by the route.
 *
 * @example
 * catch (e) { if (e instanceof ReconcileBusyError) return; }
 */
export class ReconcileBusyError extends ConflictException {
  constructor(runId: number | null) {
    super({
      statusCode: 409,
      error: 'Conflict',
      message: `reconciliation ${runId === null ? 'is starting' : `run ${runId} is running`} on another instance; try again once it has finished`,
    });
  }
}

/**
 * The runs table as a lease: one run at a time across every instance sharing the database. Starting
 * checks for a run whose lease has not run out under an advisory lock (PostgreSQL; SQLite's single
 * writer already orders it), so two instances starting together cannot both start. A run whose instance
 * died loses its lease after {@link RUN_LEASE_MS} and stays `running` in the table with its counts.
 *
 * @example
 * const runId = await runs.start(windowStart, windowEnd, owner, now); // throws ReconcileBusyError
 */
@Injectable()
export class ReconcileRuns {
  constructor(private readonly db: DatabaseGateway) {}

  /** Records a new run and takes the lease; throws {@link ReconcileBusyError} while another holds it. */
  async start(windowStart: number, windowEnd: number, owner: string, now: number): Promise<number> {
    type Started = { id: number; busy?: undefined } | { busy: number | null };
    const result = await this.db.transaction(async (em): Promise<Started> => {
      // Held by another starting instance: it is starting a run, so this one is busy too.
      if (!(await this.db.tryAdvisoryLock(em, RECONCILE_LOCK))) return { busy: null };
      const [active] = await this.db.query<{ id: number }>(em, reconcileSql.activeRun(now));
      if (active) return { busy: Number(active.id) };
      const leaseUntil = now + RUN_LEASE_MS;
      const [row] = await this.db.query<{ id: number }>(
        em,
        reconcileSql.startRun({ windowStart, windowEnd, owner, leaseUntil, now }),
      );
      return { id: Number(row.id) };
    });
    if (!('id' in result)) throw new ReconcileBusyError(result.busy);
    return result.id;
  }

  /** Extends the lease; false when this owner no longer holds it. */
  async extend(runId: number, owner: string, now: number): Promise<boolean> {
    const rows = await this.db.execute(reconcileSql.extendLease(runId, owner, now + RUN_LEASE_MS));
    return rows.length > 0;
  }

  /** Ends a run with its outcome. */
  async finish(runId: number, ok: boolean, at: number, counts: RunCounts, errors: string[]): Promise<void> {
    await this.db.execute(reconcileSql.finishRun(runId, ok ? 'succeeded' : 'failed', at, counts, errors.slice(0, 100)));
  }

  /** When the last successful run finished (epoch ms), or null when none has. */
  async lastSuccess(): Promise<{ finishedAt: number; recovered: number } | null> {
    const [row] = await this.db.read((em) =>
      this.db.query<{ finished_at: unknown; recovered: unknown }>(em, reconcileSql.lastSucceeded()),
    );
    return row ? { finishedAt: Number(row.finished_at), recovered: Number(row.recovered) } : null;
  }
}
