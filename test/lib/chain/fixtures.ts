import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Reads fixtures copied from the corpus (attribution in test/fixtures/SOURCES.md). */
const dir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/chain');

export const fixtureText = (name: string): string => readFileSync(join(dir, name), 'utf8');

export const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixtureText(name)) as T;

interface PantherRow {
  rule_id: string;
  test_name: string;
  log: Record<string, unknown>;
}

/** One Panther-normalised audit log by its test name. */
export const pantherLog = (testName: string): Record<string, unknown> => {
  for (const line of fixtureText('panther-eks-audit-selection.jsonl').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as PantherRow;
    if (row.test_name === testName) return row.log;
  }
  throw new Error(`no panther fixture named ${testName}`);
};

export const annotationsOf = (log: Record<string, unknown>): Record<string, string> =>
  (log.annotations ?? {}) as Record<string, string>;
