import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds `recording_deliveries`: one row per stored callback or stall notice, with retry and lease state.
 *
 * @example
 * migrations: RECORDING_CALLBACK_MIGRATIONS // includes this one
 */
export class Deliveries1764300000001 implements MigrationInterface {
  name = 'Deliveries1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pg = queryRunner.connection.options.type === 'postgres';
    const id = pg ? '"id" serial PRIMARY KEY' : '"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL';
    const json = pg ? 'jsonb' : 'text';
    await queryRunner.query(`CREATE TABLE "recording_deliveries" (
      ${id}, "callback_id" integer, "task_id" varchar(256) NOT NULL, "event_type" varchar(32) NOT NULL,
      "status" varchar(16) NOT NULL, "attempts" integer NOT NULL, "next_attempt_at" bigint NOT NULL,
      "lease_owner" varchar(64), "lease_until" bigint, "last_error" text, "succeeded_handlers" ${json} NOT NULL,
      "context" ${json} NOT NULL, "created_at" bigint NOT NULL, "updated_at" bigint NOT NULL)`);
    await queryRunner.query(`CREATE INDEX "idx_recording_deliveries_task" ON "recording_deliveries" ("task_id", "id")`);
    await queryRunner.query(
      `CREATE INDEX "idx_recording_deliveries_due" ON "recording_deliveries" ("status", "next_attempt_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "recording_deliveries"`);
  }
}
