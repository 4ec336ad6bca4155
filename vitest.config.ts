import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Two kinds of tests:
 *  - unit: pure lib/ code, CDK assertions, CLI, handlers with faked non-storage AWS services;
 *  - storage: everything under test/integration/, run once per DynamoDB engine. dynalite always
 *    (in process); DynamoDB Local (AWS's own engine) too when its jar is present and Java runs, as
 *    .ci/run arranges. The engine is chosen by TEST_DDB_ENGINE, read by test/support/engine.ts.
 */
const ddbLocalDir = process.env.DDB_LOCAL_DIR ?? '.local/dynamodb-local';
const withDynamoDbLocal = existsSync(`${ddbLocalDir}/DynamoDBLocal.jar`);

const shared = { testTimeout: 30_000, hookTimeout: 60_000, setupFiles: ['test/support/fast-check-setup.ts'] };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          ...shared,
        },
      },
      {
        test: {
          name: 'storage-dynalite',
          include: ['test/integration/**/*.test.ts'],
          env: { TEST_DDB_ENGINE: 'dynalite' },
          ...shared,
        },
      },
      ...(withDynamoDbLocal
        ? [
            {
              test: {
                name: 'storage-dynamodb-local',
                include: ['test/integration/**/*.test.ts'],
                env: { TEST_DDB_ENGINE: 'dynamodb-local', DDB_LOCAL_DIR: ddbLocalDir },
                ...shared,
              },
            },
          ]
        : []),
    ],
  },
});
