/**
 * Security Lake custom source names the export files its records under by default. Kept apart from
 * security-lake.ts so that the CLI's help can name them without loading the Parquet writer.
 */
export const DEFAULT_SOURCE_NAMES = {
  apiActivity: 'eks-trail-api-activity',
  entityManagement: 'eks-trail-entity-management',
} as const;
