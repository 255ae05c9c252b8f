import { ValueTransformer } from 'typeorm';

/**
 * Reads a `bigint` column back as a JS number (PostgreSQL returns bigint as a string).
 * File sizes stay far below 2^53, so no precision is lost.
 *
 * @example
 * @Column({ type: 'bigint', transformer: bigintToNumber }) fileSize: number | null;
 */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? null : Number(value)),
};
