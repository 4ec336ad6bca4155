/**
 * Builds the JSON Schema of OCSF event classes from a checkout of the OCSF schema sources at a release
 * tag (test/fixtures/SOURCES.md names the repository and commit), with the rules OCSF's schema server
 * applies when it exports a class as JSON Schema: draft-07, every object closed (`additionalProperties: false`) unless it declares no
 * attribute, `required` from the attributes whose requirement is `required`, `just_one` and
 * `at_least_one` constraints as `oneOf` / `anyOf`, enum ids as `enum` (or `const` when single), arrays
 * as `items`, and every object the class reaches under `$defs`. The output is vendored under
 * test/fixtures/ocsf/ (see test/fixtures/SOURCES.md) and the export tests validate every record
 * against it (docs/ocsf.md).
 *
 *   npx tsx tools/ocsf-json-schema.ts <ocsf-schema checkout> <out dir> <profiles|-> api_activity entity_management
 *
 * `<profiles>` (comma-separated, `-` for none) selects the profiles whose attributes are kept, as the
 * server's `profiles` parameter does: an attribute a profile file brings in is dropped unless its
 * profile is selected or the including definition overrides it with `"profile": null`.
 *
 * Attribute resolution follows the sources' own rules: a class or object inherits its `extends`
 * chain, `$include`d profile files add attributes, each attribute is the dictionary entry overlaid by
 * the class's or object's own definition, and enums of id attributes accumulate along the chain
 * (the dictionary's 0 Unknown and 99 Other plus each class's activities). `type_uid` is
 * class_uid * 100 + activity_id, `class_uid` category uid * 1000 + class uid.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;
interface AttrDef {
  caption?: string;
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption?: string }>;
  [k: string]: unknown;
}
interface TypeDef {
  name: string;
  caption?: string;
  extends?: string;
  category?: string;
  uid?: number;
  attributes: Record<string, AttrDef>;
  constraints?: { just_one?: string[]; at_least_one?: string[] };
}

const [root, outDir, profileArg, ...classNames] = process.argv.slice(2);
if (!root || !outDir || !profileArg || classNames.length === 0) {
  process.stderr.write('usage: tsx tools/ocsf-json-schema.ts <ocsf-schema dir> <out dir> <profiles|-> <class>...\n');
  process.exit(2);
}
const profiles = new Set(profileArg === '-' ? [] : profileArg.split(','));

const readJson = (p: string): Json => JSON.parse(readFileSync(join(root, p), 'utf8')) as Json;
const dictionary = readJson('dictionary.json') as {
  attributes: Record<string, AttrDef>;
  types: { attributes: Record<string, { type?: string }> };
};
const categories = readJson('categories.json') as { attributes: Record<string, { uid: number }> };
const version = (readJson('version.json') as { version: string }).version;

const walk = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );

const objects = new Map<string, TypeDef>();
for (const f of walk('objects')) {
  const o = readJson(f) as unknown as TypeDef;
  objects.set(o.name, o);
}
const events = new Map<string, TypeDef>();
for (const f of walk('events')) {
  const e = readJson(f) as unknown as TypeDef;
  events.set(e.name, e);
}

const mergeAttr = (base: AttrDef | undefined, over: AttrDef): AttrDef => {
  const out: AttrDef = { ...(base ?? {}), ...over };
  if (base?.enum || over.enum) out.enum = { ...(base?.enum ?? {}), ...(over.enum ?? {}) };
  return out;
};

/** Own attributes of one definition, with its `$include`d files expanded (own entries win). */
const ownAttributes = (def: TypeDef): Record<string, AttrDef> => {
  const out: Record<string, AttrDef> = {};
  const includes = (def.attributes['$include'] as unknown as string[] | string | undefined) ?? [];
  for (const inc of Array.isArray(includes) ? includes : [includes]) {
    const file = readJson(inc) as { meta?: string; name: string; attributes: Record<string, AttrDef> };
    const tag = file.meta === 'profile' ? { profile: file.name } : {};
    for (const [k, v] of Object.entries(file.attributes)) out[k] = mergeAttr(out[k], { ...v, ...tag });
  }
  for (const [k, v] of Object.entries(def.attributes)) if (k !== '$include') out[k] = mergeAttr(out[k], v);
  return out;
};

/** Inherited attributes along `extends`, the dictionary entry under each. */
const resolve = (def: TypeDef, table: Map<string, TypeDef>): TypeDef => {
  const chain: TypeDef[] = [];
  for (let d: TypeDef | undefined = def; d; d = d.extends ? table.get(d.extends) : undefined) chain.unshift(d);
  const attrs: Record<string, AttrDef> = {};
  let constraints: TypeDef['constraints'];
  let category: string | undefined;
  for (const d of chain) {
    for (const [k, v] of Object.entries(ownAttributes(d))) attrs[k] = mergeAttr(attrs[k], v);
    if (d.constraints) constraints = d.constraints;
    if (d.category) category = d.category;
  }
  const full: Record<string, AttrDef> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v['profile'] === 'string' && !profiles.has(v['profile'])) continue;
    full[k] = mergeAttr(dictionary.attributes[k], v);
  }
  return {
    name: def.name,
    attributes: full,
    ...(def.caption ? { caption: def.caption } : {}),
    ...(def.uid !== undefined ? { uid: def.uid } : {}),
    ...(category ? { category } : {}),
    ...(constraints ? { constraints } : {}),
  };
};

const isDataType = (t: string): boolean => t.endsWith('_t');
/** The base of a data type: string_t, integer_t, long_t, float_t, boolean_t or json_t. */
const baseType = (t: string): string => {
  let cur = t;
  for (let i = 0; i < 5; i++) {
    const next = dictionary.types.attributes[cur]?.type;
    if (!next) return cur;
    cur = next;
  }
  return cur;
};
const JSON_TYPE: Record<string, string> = {
  string_t: 'string',
  integer_t: 'integer',
  long_t: 'integer',
  float_t: 'number',
  boolean_t: 'boolean',
};

const encodeAttribute = (attr: AttrDef, reached: Set<string>): Json => {
  const t = attr.type ?? 'string_t';
  const schema: Json = { title: attr.caption };
  if (isDataType(t)) {
    const base = baseType(t);
    const jsonType = JSON_TYPE[base];
    if (jsonType) schema['type'] = jsonType;
    // long_t enums too (type_uid): stricter than an integer, and every value is listed.
    if (attr.enum && (base === 'integer_t' || base === 'long_t' || base === 'string_t')) {
      const values = Object.keys(attr.enum)
        .map((k) => (base === 'string_t' ? k : Number(k)))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (values.length === 1) schema['const'] = values[0];
      else schema['enum'] = values;
    }
  } else {
    reached.add(t);
    schema['$ref'] = `#/$defs/${t}`;
  }
  if (!attr.is_array) return schema;
  const { title, ...item } = schema;
  return { title, type: 'array', items: item };
};

const encodeItem = (def: TypeDef, reached: Set<string>): Json => {
  const properties: Json = {};
  const required: string[] = [];
  const justOne = def.constraints?.just_one ?? [];
  const atLeastOne = def.constraints?.at_least_one ?? [];
  for (const name of Object.keys(def.attributes).sort()) {
    const attr = def.attributes[name] as AttrDef;
    properties[name] = encodeAttribute(attr, reached);
    if (!justOne.includes(name) && !atLeastOne.includes(name) && attr.requirement === 'required') required.push(name);
  }
  const out: Json = { title: def.caption, type: 'object', properties, additionalProperties: false };
  if (required.length) out['required'] = required.sort();
  const one = justOne.filter((n) => n in properties);
  if (one.length) {
    out['oneOf'] = one.map((n) => ({ required: [n], not: { required: one.filter((o) => o !== n) } }));
  }
  const any = atLeastOne.filter((n) => n in properties);
  if (any.length) out['anyOf'] = any.map((n) => ({ required: [n] }));
  if (Object.keys(properties).length === 0) out['additionalProperties'] = true;
  return out;
};

const classSchema = (name: string): Json => {
  const def = events.get(name);
  if (!def?.uid) throw new Error(`${name}: no such event class`);
  const cls = resolve(def, events);
  const categoryUid = categories.attributes[cls.category ?? '']?.uid;
  if (categoryUid === undefined) throw new Error(`${name}: category ${cls.category} unknown`);
  const classUid = categoryUid * 1000 + (cls.uid as number);
  const activities = Object.keys(cls.attributes['activity_id']?.enum ?? {});
  const a = cls.attributes;
  a['class_uid'] = { ...a['class_uid'], enum: { [classUid]: { caption: cls.caption ?? name } } };
  a['category_uid'] = { ...a['category_uid'], enum: { [categoryUid]: { caption: cls.category ?? '' } } };
  a['type_uid'] = {
    ...a['type_uid'],
    enum: Object.fromEntries(activities.map((id) => [String(classUid * 100 + Number(id)), {}])),
  };
  const reached = new Set<string>();
  const schema: Json = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://schema.ocsf.io/${version}/classes/${name}`,
    $comment: `OCSF ${version}, profiles: ${[...profiles].sort().join(', ') || 'none'}`,
    ...encodeItem(cls, reached),
  };
  const defs: Json = {};
  const done = new Set<string>();
  while (reached.size > done.size) {
    for (const o of [...reached]) {
      if (done.has(o)) continue;
      done.add(o);
      const od = objects.get(o);
      if (!od) throw new Error(`${name}: object ${o} not found`);
      defs[o] = encodeItem(resolve(od, objects), reached);
    }
  }
  schema['$defs'] = Object.fromEntries(Object.entries(defs).sort(([x], [y]) => (x < y ? -1 : 1)));
  return schema;
};

for (const name of classNames) {
  const file = join(outDir, `${name}.schema.json`);
  writeFileSync(file, `${JSON.stringify(classSchema(name), null, 1)}\n`);
  process.stdout.write(`${file} (OCSF ${version})\n`);
}
