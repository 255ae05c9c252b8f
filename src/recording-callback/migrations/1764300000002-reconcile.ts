import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation against Huawei Live's listing: a file's `source` (`callback` or `reconciled`) and the
 * `recovery_key` that makes a recovered file unique (so two instances or two runs store it once), and
 * `recording_reconcile_runs`, one row per run with its window, lease and counts. Times of runs are
 * epoch milliseconds, as in `recording_deliveries`.
 *
 * @example
 * migrations: RECORDING_CALLBACK_MIGRATIONS // includes this one
 */
export class Reconcile1764300000002 implements MigrationInterface {
  name = 'Reconcile1764300000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.options.type === 'postgres';
    const id = pg ? '"id" serial PRIMARY KEY' : '"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL';
    await queryRunner.query(
      `ALTER TABLE "recording_files" ADD COLUMN "source" varchar(16) NOT NULL DEFAULT 'callback'`,
    );
    await queryRunner.query(`ALTER TABLE "recording_files" ADD COLUMN "recovery_key" varchar(64)`);
    // Several NULLs are allowed by a unique index on both databases: only recovered files carry a key.
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_recording_files_recovery" ON "recording_files" ("recovery_key")`);
    await queryRunner.query(`CREATE TABLE "recording_reconcile_runs" (
      ${id}, "window_start" bigint NOT NULL, "window_end" bigint NOT NULL, "status" varchar(16) NOT NULL,
      "lease_owner" varchar(64) NOT NULL, "lease_until" bigint NOT NULL, "started_at" bigint NOT NULL,
      "finished_at" bigint, "listed" integer NOT NULL, "matched" integer NOT NULL, "recovered" integer NOT NULL,
      "stalled" integer NOT NULL, "errors" text)`);
    await queryRunner.query(
      `CREATE INDEX "idx_recording_reconcile_runs_status" ON "recording_reconcile_runs" ("status", "id")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "recording_reconcile_runs"`);
    await queryRunner.query(`DROP INDEX "uq_recording_files_recovery"`);
    await queryRunner.query(`ALTER TABLE "recording_files" DROP COLUMN "recovery_key"`);
    await queryRunner.query(`ALTER TABLE "recording_files" DROP COLUMN "source"`);
  }
}
