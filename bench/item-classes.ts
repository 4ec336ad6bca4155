/**
 * The trail's item classes as the bench reports storage and write cost by them (docs/data-model.md,
 * "Item classes"): by partition-key prefix, segment parts split by part (notable `n`, bulk `b`).
 */

export const ITEM_CLASSES = [
  'S# n',
  'S# b',
  'N#',
  'IP#',
  'IH#',
  'IA#',
  'IU#',
  'IK#',
  'IO#',
  'IN#',
  'IX#',
  'R#',
  'MC#',
  'CRED#',
  'Q#',
  'CL#',
  'USAGE#',
  'ALERT#',
  'other',
] as const;

export type ItemClass = (typeof ITEM_CLASSES)[number];

export const ITEM_CLASS_LABELS: Record<ItemClass, string> = {
  'S# n': 'segment parts, notable',
  'S# b': 'segment parts, bulk',
  'N#': 'authenticator parts',
  'IP#': 'postings: principal',
  'IH#': 'postings: human',
  'IA#': 'postings: pending access key',
  'IU#': 'postings: k8s user',
  'IK#': 'postings: kind',
  'IO#': 'postings: object',
  'IN#': 'postings: namespace',
  'IX#': 'postings: denials',
  'R#': 'notable pointers',
  'MC#': 'mapping history',
  'CRED#': 'credentials (AssumeRole*)',
  'Q#': 'quarantine',
  'CL#': 'cluster registry',
  'USAGE#': 'mapping usage',
  'ALERT#': 'alert ledger',
  other: 'other',
};

const PREFIXES = ITEM_CLASSES.filter((c) => c.endsWith('#')).sort((a, b) => b.length - a.length);

/** The class of an item from its table key. */
export const itemClassOf = (pk: string | undefined, sk: string | undefined): ItemClass => {
  if (pk === undefined) return 'other';
  if (pk.startsWith('S#')) {
    // `<cell>#<anchor>#<n|b>[.<chunk>]`: the cell and the base64url anchor hold no `#`.
    const part = (sk ?? '').split('#')[2]?.[0];
    return part === 'n' ? 'S# n' : part === 'b' ? 'S# b' : 'other';
  }
  return PREFIXES.find((p) => pk.startsWith(p)) ?? 'other';
};
