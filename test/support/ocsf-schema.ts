import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * Validators for the OCSF JSON Schemas vendored under test/fixtures/ocsf/ (their source, version and
 * licence are in test/fixtures/SOURCES.md). `strict: false` because the OCSF exports carry `title` on
 * `$ref` siblings, which Ajv's strict mode refuses but JSON Schema draft-07 allows.
 */
const DIR = resolve(__dirname, '../fixtures/ocsf');

const cache = new Map<string, ValidateFunction>();

export const ocsfValidator = (version: string, className: string): ValidateFunction => {
  const key = `${version}/${className}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const schema = JSON.parse(readFileSync(resolve(DIR, version, `${className}.schema.json`), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  const v = ajv.compile(schema);
  cache.set(key, v);
  return v;
};

const describe = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

/** The schema errors of a record, empty when it validates. */
export const ocsfErrors = (version: string, className: string, record: unknown): string => {
  const v = ocsfValidator(version, className);
  return v(record) ? '' : describe(v.errors);
};
