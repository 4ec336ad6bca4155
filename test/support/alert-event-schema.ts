import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';

/** The published JSON Schema of the alert event's detail (docs/alert-event.schema.json), compiled once. */
const schema = JSON.parse(readFileSync(resolve(__dirname, '../../docs/alert-event.schema.json'), 'utf8'));
// `format` is documentation here (Ajv needs ajv-formats to check it); everything else is enforced.
const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);

/** The schema errors of a detail, empty when it validates. */
export const alertDetailErrors = (detail: unknown): string =>
  validate(detail)
    ? ''
    : (validate.errors ?? [])
        .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
        .join('\n');
