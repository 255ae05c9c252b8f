import { ApiProperty, ApiPropertyOptional } from '../protocol/optional-swagger';

/** Body of `POST <callbackPath>/reconcile`. */
export class ReconcileRequestBody {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 60,
    maximum: 2_592_000,
    example: 21600,
    description: 'The window: from this many seconds ago until now (default: the configured window)',
  })
  sinceSeconds?: number;

  @ApiPropertyOptional({ example: false, description: 'List and compare only; store and deliver nothing' })
  dryRun?: boolean;
}

/** Answer of `POST <callbackPath>/reconcile`. */
export class ReconcileSummaryAnswer {
  @ApiProperty({ type: 'integer', example: 12, description: 'Files Huawei lists in the window (of this app)' })
  listed: number;

  @ApiProperty({ type: 'integer', example: 9, description: 'Listed files the database already had' })
  matched: number;

  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'Files stored and delivered as recording.file.recovered (a dry run: would be)',
  })
  recovered: number;

  @ApiProperty({ type: 'integer', example: 0, description: 'RECORDING tasks stalled or long past their last file' })
  stalled: number;

  @ApiProperty({ type: [String], example: [], description: 'What went wrong (a failed listing stores nothing)' })
  errors: string[];
}
