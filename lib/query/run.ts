import { type AuthenticatorContext, accessKeysOf, isUnauthenticated, rederive } from '../chain/rederive.js';
import type { CorrelationEvidence, DecisionChain, RequestLink } from '../chain/types.js';
import type { MappingChange } from '../identity/types.js';
import { workloadIdentity } from '../identity/workload.js';
import type {
  ClusterRef,
  PageRequest,
  QuestionPort,
  ClusterRef as Ref,
  ResourceSelector,
  StoredAuthenticatorRecord,
  StoredRequest,
  StorePage,
  TimeRange,
  TrailStore,
} from '../store/trail-store.js';
import { listRecordedAlerts } from './alerts.js';
import { pageAuthenticatorContext } from './authn-join.js';
import { explainRows, type RequestRow, requestRow } from './chain-rows.js';
import { QueryNotFoundError, QueryParamError } from './errors.js';
import { AUTHENTICATOR_EVIDENCE_WINDOW_MS, accessAt, authenticatorAccessRows, mappingHistory } from './mappings.js';
import { mergeListings } from './merge-listings.js';
import { type CursorBinding, collectPage, slicePage } from './paging.js';
import { isWriteVerb, type QuestionParams, splitResource, type TouchedTarget } from './params.js';
import { type PagedQuestion, resumeQuestion } from './resume.js';
import { deployerOf, workloadRows } from './workloads.js';

/**
 * The questions, answered over the storage port (lib/store/trail-store.ts). One implementation for the
 * CLI (local mode and `--table`) and the query API; `--api` mode sends the same parameters over HTTP
 * and gets this shape back. Every chain shown is derived from the stored facts with the evidence as it
 * stands now (lib/chain/rederive.ts).
 */

/**
 * An answer: rows of fields (docs/output.schema.json describes them per question) and notes. How a
 * row is shown in a table or a CSV file is the printer's business (lib/query/output-columns.ts).
 */
export interface QueryAnswer {
  question: QuestionParams['question'];
  /** `<account>/<name>` the answer is about; absent for fleet-wide who-did. */
  cluster?: string;
  window?: TimeRange;
  at?: string;
  rows: object[];
  nextCursor?: string;
  /** Plain-language remarks about the answer (auth mode inferred, session filter applied…). */
  notes: string[];
}

export const refText = (ref: ClusterRef): string => `${ref.accountId}/${ref.cluster}`;

/**
 * The clusters a question may read: a query API caller's grants (lib/query/access-policy.ts). Absent
 * in local mode and with `--table`, where IAM on the table is the only gate.
 */
export interface QuestionScope {
  mayRead(ref: ClusterRef): boolean;
}

/** Said in the notes of a fleet-wide answer that the scope filtered. */
export const SCOPED_NOTE = 'only clusters this caller may read were searched (query API access grants)';

/**
 * `name` or `<account>/<name>` to a cluster the trail knows. A bare name known in two accounts is
 * ambiguous and refused with the choices, never guessed.
 */
export const resolveCluster = async (
  store: Pick<TrailStore, 'clusters'>,
  text: string | undefined,
  required: boolean,
  scope?: QuestionScope,
): Promise<ClusterRef | undefined> => {
  // A scoped caller resolves among the clusters it may read only: errors never list, nor a bare name
  // ever picks, a cluster outside its grants.
  const all = await store.clusters();
  const known = scope ? all.filter((k) => scope.mayRead(k)) : all;
  const choices = known.map(refText).sort();
  if (text === undefined) {
    if (!required) return undefined;
    if (known.length === 1) return known[0];
    if (known.length === 0) {
      throw new QueryNotFoundError(
        scope
          ? 'cluster: the trail holds no cluster this caller may read'
          : 'cluster: the trail holds no cluster yet (replay or ingest first)',
        'cluster',
      );
    }
    throw new QueryParamError(`cluster: required (known: ${choices.join(', ')})`, 'cluster', choices);
  }
  const slash = text.indexOf('/');
  const matches =
    slash > 0
      ? known.filter((k) => k.accountId === text.slice(0, slash) && k.cluster === text.slice(slash + 1))
      : known.filter((k) => k.cluster === text);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    const amb = matches.map(refText).sort();
    throw new QueryParamError(
      `cluster: "${text}" exists in several accounts; use one of ${amb.join(', ')}`,
      'cluster',
      amb,
    );
  }
  throw new QueryNotFoundError(
    `cluster: "${text}" is not in the trail${choices.length ? ` (known: ${choices.join(', ')})` : ''}`,
    'cluster',
  );
};

/**
 * Derives one page. Per cluster of the page: the authenticator context once (401s joined to their
 * denial, see authn-join.ts), then the evidence once, with the access keys the page's requests and
 * denied tokens name. Each chain comes with the evidence it was derived with, for callers that show
 * more of it than the chain holds (the OCSF export shows an access key's issuance times).
 */
export const deriveWithEvidence = async (
  store: QuestionPort,
  records: readonly StoredRequest[],
): Promise<{ chain: DecisionChain; evidence: CorrelationEvidence }[]> => {
  const byCluster = new Map<string, { ref: ClusterRef; records: StoredRequest[] }>();
  for (const r of records) {
    const slot = byCluster.get(refText(r.ref)) ?? { ref: r.ref, records: [] };
    slot.records.push(r);
    byCluster.set(refText(r.ref), slot);
  }
  const loaded = new Map<string, { evidence: CorrelationEvidence; authn?: AuthenticatorContext }>();
  // Clusters, and a cluster's authenticator context and evidence, are read side by side: the
  // evidence is asked again only when a denied token's `STS response` names a key the page did not.
  await Promise.all(
    [...byCluster].map(async ([k, { ref, records: mine }]) => {
      const own = [...new Set(accessKeysOf(mine))].sort();
      const [authn, first] = await Promise.all([
        pageAuthenticatorContext(store, ref, mine),
        store.evidenceFor(ref, own),
      ]);
      const extra = (authn?.accessKeys ?? []).filter((key) => !own.includes(key));
      const evidence = extra.length > 0 ? await store.evidenceFor(ref, [...own, ...extra].sort()) : first;
      loaded.set(k, authn ? { evidence, authn: authn.context } : { evidence });
    }),
  );
  return records.map((r) => {
    const l = loaded.get(refText(r.ref)) as { evidence: CorrelationEvidence; authn?: AuthenticatorContext };
    return { chain: rederive(r, l.evidence, l.authn), evidence: l.evidence };
  });
};

const derivePage = async (store: QuestionPort, records: readonly StoredRequest[]): Promise<DecisionChain[]> =>
  (await deriveWithEvidence(store, records)).map((d) => d.chain);

type Fetch = (cursor: string | undefined, limit: number) => Promise<StorePage<StoredRequest>>;

/** One store listing of requests: what a question pages through, and what its span is read from. */
type Listing = (range: TimeRange, page: PageRequest) => Promise<StorePage<StoredRequest>>;

/**
 * Page through stored requests, derive each page, filter, and build rows. Records `visible` refuses
 * are never derived (no evidence of their cluster is read) and never shown; they keep their place in
 * the page, so a cursor counts the same raw items whatever the scope.
 */
const chainRows = async (
  store: QuestionPort,
  fetch: Fetch,
  keep: (chain: DecisionChain) => boolean,
  page: PageRequest,
  binding: CursorBinding,
  visible?: (r: StoredRequest) => boolean,
): Promise<{ rows: RequestRow[]; nextCursor?: string }> => {
  const derived = async (cursor: string | undefined, limit: number) => {
    const p = await fetch(cursor, limit);
    const shown = visible ? p.items.filter(visible) : p.items;
    const chains = await derivePage(store, shown);
    const byRecord = new Map(shown.map((r, i) => [r, chains[i]]));
    const items = p.items.map((r) => byRecord.get(r));
    return p.cursor === undefined ? { items } : { items, cursor: p.cursor };
  };
  return collectPage(
    derived,
    (chain) => (chain !== undefined && keep(chain) ? requestRow(chain) : undefined),
    page.limit ?? 50,
    page.cursor,
    { binding },
  );
};

const eqi = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Answers one question. With a scope (query API callers), clusters outside it are never resolved,
 * and a fleet-wide who-did only shows requests of clusters inside it, saying so in its notes.
 */
export const runQuestion = async (
  store: QuestionPort,
  asked: QuestionParams,
  scope?: QuestionScope,
): Promise<QueryAnswer> => {
  if (asked.question === 'explain') return answerQuestion(store, asked, { q: 'explain' }, scope);
  const { q, binding, notes } = resumeQuestion(asked);
  const a = await answerQuestion(store, q, binding, scope);
  a.notes.push(...notes);
  return a;
};

/** What every question's answer needs besides its parameters. */
interface AnswerContext {
  store: QuestionPort;
  binding: CursorBinding;
  scope: QuestionScope | undefined;
  /** The cluster asked about; required unless the question may span the fleet. */
  resolve: (required: boolean) => ReturnType<typeof resolveCluster>;
}

const answerQuestion = async (
  store: QuestionPort,
  q: PagedQuestion | Extract<QuestionParams, { question: 'explain' }>,
  binding: CursorBinding,
  scope: QuestionScope | undefined,
): Promise<QueryAnswer> => {
  const ctx: AnswerContext = {
    store,
    binding,
    scope,
    resolve: (required) => resolveCluster(store, q.cluster, required, scope),
  };
  switch (q.question) {
    case 'who-did':
      return answerWhoDid(ctx, q);
    case 'explain':
      return answerExplain(ctx, q);
    case 'denied':
      return answerDenied(ctx, q);
    case 'access-at':
      return answerAccessAt(ctx, q);
    case 'mappings-history':
      return answerMappingsHistory(ctx, q);
    case 'workloads':
      return answerWorkloads(ctx, q);
    case 'touched':
      return answerTouched(ctx, q);
    case 'alerts':
      return answerAlerts(ctx, q);
  }
};

/** What a person, principal, Kubernetes user or workload did (fleet-wide for a principal or a human). */
const answerWhoDid = async (
  { store, binding, scope, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'who-did' }>,
): Promise<QueryAnswer> => {
  if (q.serviceAccount || q.pod) return workloadWhoDid(store, q, binding, scope);
  const fleetWide = q.principal !== undefined || q.human !== undefined;
  const ref = await resolve(!fleetWide);
  const page: PageRequest = q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
  const notes: string[] = [];
  let list: Listing;
  // The span of an empty answer is the index's own: the denials merged in below are not the principal's.
  let indexed: Listing;
  if (q.principal) {
    const matchKey = q.principal.matchKey;
    list = (range, p) => store.requestsByPrincipal(matchKey, range, p, ref);
    if (q.principal.canonicalArn.toLowerCase() !== q.principal.arn.toLowerCase()) {
      notes.push(`principal canonicalised to ${q.principal.canonicalArn}`);
    }
    if (q.principal.sessionName) {
      notes.push(`only session "${q.principal.sessionName}" (session names are chosen by the caller)`);
    }
  } else if (q.human) {
    const human = q.human;
    list = (range, p) => store.requestsByHuman(human, range, p, ref);
  } else if (q.k8sUser) {
    const user = q.k8sUser;
    list = (range, p) => store.requestsByK8sUser(ref as ClusterRef, user, range, p);
  } else {
    list = (range, p) => store.requestsByCluster(ref as ClusterRef, range, p);
  }
  indexed = list;
  if (q.principal || q.human) list = await withJoinedDenials(store, list, ref, q.principal ? 'principal' : 'human');
  const fetch: Fetch = (cursor, limit) => list(q.range, withCursor(limit, cursor));
  const keep = (c: DecisionChain): boolean => {
    const r = c.request.value;
    const p = c.principal.value;
    if (ref && (c.cluster !== ref.cluster || (c.accountId && c.accountId !== ref.accountId))) return false;
    if (q.principal && p?.canonicalArn?.toLowerCase() !== q.principal.matchKey) return false;
    if (q.principal?.sessionName !== undefined && p?.sessionName !== q.principal.sessionName) return false;
    if (q.human && !eqi(c.human.value?.identity, q.human)) return false;
    if (q.k8sUser && c.k8sIdentity.value?.username !== q.k8sUser) return false;
    if (q.verbs && !q.verbs.includes(r?.verb ?? '')) return false;
    if (q.resource !== undefined) {
      // `deployments.apps` names the group too; a bare plural matches any group.
      const want = splitResource(q.resource);
      if (r?.resource !== want.resource || (want.apiGroup !== undefined && r?.apiGroup !== want.apiGroup)) return false;
    }
    if (q.namespace !== undefined && r?.namespace !== q.namespace) return false;
    if (q.outcome && (c.decision.value?.outcome ?? 'unknown') !== q.outcome) return false;
    return true;
  };
  // Fleet-wide listings span every cluster the store knows: the scope filters them record by record.
  const visible = scope && ref === undefined ? (r: StoredRequest) => scope.mayRead(r.ref) : undefined;
  if (visible) notes.push(SCOPED_NOTE);
  const { rows, nextCursor } = await chainRows(store, fetch, keep, page, binding, visible);
  if (rows.length === 0 && nextCursor === undefined && q.cursor === undefined) {
    const what = q.principal
      ? `principal ${q.principal.canonicalArn}${ref ? ` on ${refText(ref)}` : ''}`
      : q.human
        ? `human ${q.human}${ref ? ` on ${refText(ref)}` : ''}`
        : q.k8sUser
          ? `Kubernetes user ${q.k8sUser} on ${refText(ref as ClusterRef)}`
          : `cluster ${refText(ref as ClusterRef)}`;
    notes.push(await spanNote(indexed, what, q.range));
  }
  return answer(q.question, ref, { window: q.range, rows, nextCursor, notes });
};

/** One request, link by link. */
const answerExplain = async (
  { store, scope, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'explain' }>,
): Promise<QueryAnswer> => {
  const ref = (await resolve(true)) as ClusterRef;
  const rec = await store.requestByAuditId(ref, q.auditId, q.at);
  if (!rec) {
    const hint =
      q.at === undefined
        ? ' (requests of IAM callers, denials and identity or secret access are found by id alone; for any other request add --at with its requestReceivedTimestamp, as who-did prints it)'
        : ` at ${q.at}`;
    throw new QueryNotFoundError(`audit-id: no request ${q.auditId} on cluster ${refText(ref)}${hint}`, 'audit-id');
  }
  const [c] = (await derivePage(store, [rec])) as [DecisionChain];
  await withDeployer(store, c, scope);
  const notes = [`chain ${c.chainId} at ${c.at}`];
  if (c.pendingEnrichment) notes.push('some links are unknown because the data they need has not arrived yet');
  return answer(q.question, ref, { rows: explainRows(c), notes });
};

/** 401s and 403s of a cluster. */
const answerDenied = async (
  { store, binding, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'denied' }>,
): Promise<QueryAnswer> => {
  const ref = (await resolve(true)) as ClusterRef;
  const keep = (c: DecisionChain): boolean => {
    const d = c.decision.value;
    if (!d || (d.outcome !== 'forbid' && d.outcome !== 'authn-failed')) return false;
    if (q.stage && d.denial?.stage !== q.stage) return false;
    if (q.principal && c.principal.value?.canonicalArn?.toLowerCase() !== q.principal.matchKey) return false;
    return true;
  };
  const page = q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
  const list: Listing = (range, p) => store.denials(ref, range, p);
  const { rows, nextCursor } = await chainRows(
    store,
    (cursor, limit) => list(q.range, withCursor(limit, cursor)),
    keep,
    page,
    binding,
  );
  const notes: string[] = [];
  if (rows.length === 0 && nextCursor === undefined && q.cursor === undefined) {
    notes.push(await spanNote(list, `denials on cluster ${refText(ref)}`, q.range));
  }
  return answer(q.question, ref, { window: q.range, rows, nextCursor, notes });
};

/** Who could reach the cluster at a time, through which mapping, with the authenticator's own evidence. */
const answerAccessAt = async (
  { store, binding, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'access-at' }>,
): Promise<QueryAnswer> => {
  const ref = (await resolve(true)) as ClusterRef;
  const [changes, lines] = await Promise.all([store.mappingChanges(ref), authenticatorEvidence(store, ref, q.at)]);
  const a = accessAt(ref.cluster, changes, q.at, q.principal);
  const evidence = authenticatorAccessRows(lines, a.rows, q.at, q.principal);
  const notes = [
    a.authModeKnown
      ? `authentication mode ${a.effectiveMode}`
      : `authentication mode never observed: assumed ${a.effectiveMode}`,
  ];
  if (a.clusterDeleted) notes.push('the cluster was deleted at that time');
  if (changes.length === 0) notes.push('no mapping history recorded for this cluster');
  if (evidence.length > 0) {
    notes.push(
      `${evidence.length} principal(s) shown from the authenticator's own log of the hour before (its latest 1,000 lines at most): granted then, not proof the mapping still held`,
    );
  }
  const all = [...a.rows, ...evidence];
  if (all.length === 0 && changes.length > 0) notes.push(historySpanNote(changes, ref));
  const { rows, nextCursor } = slicePage(all, q.limit, q.cursor, binding);
  return answer(q.question, ref, { at: q.at, rows, nextCursor, notes });
};

/** How the mappings changed, and by whom. */
const answerMappingsHistory = async (
  { store, binding, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'mappings-history' }>,
): Promise<QueryAnswer> => {
  const ref = (await resolve(true)) as ClusterRef;
  const changes = await store.mappingChanges(ref);
  const all = mappingHistory(ref.cluster, changes, q.range, q.principal);
  const { rows, nextCursor } = slicePage(all, q.limit, q.cursor, binding);
  const notes: string[] = [];
  if (all.length === 0) {
    notes.push(
      changes.length === 0
        ? `the trail holds no mapping history for cluster ${refText(ref)}`
        : historySpanNote(changes, ref, q.range),
    );
  }
  return answer(q.question, ref, { window: q.range, rows, nextCursor, notes });
};

/** Which service accounts and pods could act as a role, and the sessions they were issued. */
const answerWorkloads = async (
  { store, binding, scope }: AnswerContext,
  q: Extract<QuestionParams, { question: 'workloads' }>,
): Promise<QueryAnswer> => {
  const only = q.cluster === undefined ? undefined : await resolveCluster(store, q.cluster, true, scope);
  const refs = only ? [only] : (await store.clusters()).filter((r) => !scope || scope.mayRead(r));
  const clusters = [];
  for (const ref of refs) clusters.push({ ref, changes: await store.mappingChanges(ref) });
  const issued = (await store.workloadIssuances?.(q.role.matchKey, q.range)) ?? [];
  const issuers = new Map<string, Ref>();
  for (const iss of issued) {
    const key = iss.workload?.issuer;
    if (!key || issuers.has(key)) continue;
    const ref = await store.issuerCluster?.(key);
    if (ref) issuers.set(key, ref);
  }
  // A scoped caller sees the sessions of pods on clusters it may read only; an IRSA session whose
  // issuer no known cluster owns cannot be placed, so it is not shown to a scoped caller.
  const issuances = scope
    ? issued.filter((iss) => {
        const w = iss.workload;
        const at =
          w?.kind === 'irsa'
            ? w.issuer
              ? issuers.get(w.issuer)
              : undefined
            : w?.accountId && w.cluster
              ? { accountId: w.accountId, cluster: w.cluster }
              : undefined;
        return at !== undefined && scope.mayRead(at);
      })
    : issued;
  let rows = workloadRows(q.role.matchKey, clusters, issuances, q.range, issuers);
  if (only) rows = rows.filter((r) => r.cluster === refText(only));
  const notes = [
    `associations in force at ${q.range.to}; sessions issued from ${q.range.from} to ${q.range.to}`,
    'IRSA rows come from sessions seen: trust policies are not read, so a service account that could assume the role but did not is not listed',
  ];
  if (scope && !only) notes.push(SCOPED_NOTE);
  if (!store.workloadIssuances) notes.push('this store keeps no index of pod sessions: sessions are not counted');
  const { rows: page, nextCursor } = slicePage(rows, q.limit, q.cursor, binding);
  return answer(q.question, only, { window: q.range, rows: page, nextCursor, notes });
};

/** Who touched an object, a kind of object or a namespace. */
const answerTouched = async (
  { store, binding, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'touched' }>,
): Promise<QueryAnswer> => {
  const ref = (await resolve(true)) as ClusterRef;
  const t = q.target;
  const sel = selectorOf(t);
  const keep = (c: DecisionChain): boolean => {
    const r = c.request.value;
    if (!r || !touches(t, r)) return false;
    if (q.access === 'read' && isWriteVerb(r.verb)) return false;
    if (q.access === 'write' && !isWriteVerb(r.verb)) return false;
    return true;
  };
  const page = q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
  const list: Listing = (range, p) => store.requestsByResource(ref, sel, range, p);
  const { rows, nextCursor } = await chainRows(
    store,
    (cursor, limit) => list(q.range, withCursor(limit, cursor)),
    keep,
    page,
    binding,
  );
  const notes: string[] = [];
  if (t.kind === 'namespace') {
    notes.push(`the Namespace object ${t.namespace} itself (its creation, deletion) is /namespaces/${t.namespace}`);
  }
  if (rows.length === 0 && nextCursor === undefined && q.cursor === undefined) {
    notes.push(await spanNote(list, `${targetWords(t)} on cluster ${refText(ref)}`, q.range));
  }
  return answer(q.question, ref, { window: q.range, rows, nextCursor, notes });
};

/** The alerts the ledger recorded. */
const answerAlerts = async (
  { store, binding, scope, resolve }: AnswerContext,
  q: Extract<QuestionParams, { question: 'alerts' }>,
): Promise<QueryAnswer> => {
  if (q.rerun) {
    throw new QueryParamError(
      'rerun: evaluating the rules over history needs the alert configuration; run `eks-trail alerts --rerun` in local mode or with --table',
      'rerun',
    );
  }
  const ref = await resolve(false);
  // The ledger's fleet-wide listing spans every cluster: the scope filters it alert by alert.
  const visible = scope && ref === undefined ? (r: ClusterRef) => scope.mayRead(r) : undefined;
  const { rows, nextCursor, trimmed } = await listRecordedAlerts(store, ref, q, binding, visible);
  const notes = [
    `alerts recorded in the alert ledger${ref ? '' : ' of every cluster'} (by the deployed pipeline or a local replay); \`eks-trail alerts --rerun\` evaluates the rules over the stored history instead`,
  ];
  if (visible) notes.push(SCOPED_NOTE);
  if (trimmed > 0)
    notes.push(
      `${trimmed} alert(s) kept without their before/after bodies to fit one item (the first 200 diff lines are kept)`,
    );
  return answer(q.question, ref, { window: q.range, rows, nextCursor, notes });
};

/**
 * A principal's or a human's listing, with the denials of the cluster (of every cluster, fleet-wide)
 * that the index cannot hold: a 401 names its principal only once joined to the authenticator's denial
 * at question time, and the human behind a denied token is traced through the `STS response` line the
 * same way (lib/chain/rederive.ts). The other denials are in the index already and are not read twice.
 */
const withJoinedDenials = async (
  store: QuestionPort,
  indexed: Listing,
  ref: ClusterRef | undefined,
  by: 'principal' | 'human',
): Promise<Listing> => {
  const refs = ref ? [ref] : (await store.clusters()).sort((a, b) => (refText(a) < refText(b) ? -1 : 1));
  const joinedAtQuestionTime = (r: StoredRequest): boolean => {
    if (r.kind === 'request') return isUnauthenticated(r);
    if (by === 'principal') return false;
    // An IAM user is its own human, known at ingest and indexed; anyone else needs the STS line.
    const line = r.denial.line;
    const arn = line.kind === 'access-denied' ? line.canonicalArn : undefined;
    return !/^arn:[^:]+:iam::\d{12}:user\//.test(arn ?? '');
  };
  return mergeListings<StoredRequest>(
    [
      { list: indexed },
      ...refs.map((r) => ({
        list: ((range, p) => store.denials(r, range, p)) as Listing,
        keep: joinedAtQuestionTime,
      })),
    ],
    (r) => r.at,
  );
};

/**
 * What the store lists for a target. The store indexes the resource without its group, and the
 * object posting covers the object's subresources: the group and subresource are checked on the rows
 * (touches). A kind at cluster scope is listed whole and narrowed on the rows too, because the store's
 * kind listing narrows by namespace only.
 */
const selectorOf = (t: TouchedTarget): ResourceSelector => {
  switch (t.kind) {
    case 'object':
      return { resource: t.resource, name: t.name, ...(t.namespace ? { namespace: t.namespace } : {}) };
    case 'namespace':
      return { namespace: t.namespace };
    case 'resource':
      return { resource: t.resource, ...(t.namespace ? { namespace: t.namespace } : {}) };
  }
};

/** True when a request is one of the target's: the same object (or subresource), kind or namespace. */
export const touches = (t: TouchedTarget, r: RequestLink): boolean => {
  if (t.kind === 'namespace') return r.namespace === t.namespace;
  if (r.resource !== t.resource) return false;
  if (t.apiGroup !== undefined && (r.apiGroup ?? '') !== t.apiGroup) return false;
  if (t.kind === 'resource') {
    if (t.namespace !== undefined) return r.namespace === t.namespace;
    return t.clusterScope ? !r.namespace : true;
  }
  if ((r.namespace ?? undefined) !== t.namespace || r.name !== t.name) return false;
  return t.subresource === undefined || r.subresource === t.subresource;
};

const targetWords = (t: TouchedTarget): string => {
  const kind = `${t.kind === 'namespace' ? '' : t.resource}${t.kind !== 'namespace' && t.apiGroup ? `.${t.apiGroup}` : ''}`;
  switch (t.kind) {
    case 'namespace':
      return `namespace ${t.namespace}`;
    case 'resource':
      return t.namespace ? `${kind} in namespace ${t.namespace}` : t.clusterScope ? `${kind} at cluster scope` : kind;
    case 'object':
      return `${kind}${t.subresource ? `/${t.subresource}` : ''} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
  }
};

/**
 * Open window for the span of a listing: the store's listings cost what they return, so the oldest and
 * the newest request of a partition cost one page of one each, whatever the length (docs/data-model.md,
 * "Reading").
 */
const OPEN_WINDOW: TimeRange = { from: '1970-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z' };

/** An empty answer says where the data is: the first and last request the listing holds. */
const spanNote = async (list: Listing, what: string, window: TimeRange): Promise<string> => {
  const [first, last] = await Promise.all([
    list(OPEN_WINDOW, { limit: 1, order: 'oldest-first' }),
    list(OPEN_WINDOW, { limit: 1, order: 'newest-first' }),
  ]);
  const a = first.items[0]?.at;
  const b = last.items[0]?.at;
  if (a === undefined || b === undefined) return `no rows: the trail holds no requests of ${what} at all`;
  return spanText(`requests of ${what}`, a, b, window);
};

const spanText = (what: string, first: string, last: string, window: TimeRange | undefined): string => {
  const from = isoSecond(first, 'floor');
  const to = isoSecond(last, 'ceil');
  const inside = window?.from !== undefined && window.to !== undefined && window.from <= from && to <= window.to;
  return inside
    ? `no rows match in this window; the trail holds ${what} from ${first} to ${last}`
    : `no rows in this window; the trail holds ${what} from ${first} to ${last} (ask with --from ${from} --to ${to})`;
};

/** A stored time (µs) as a whole second that still covers it, for a --from / --to a person can type. */
const isoSecond = (at: string, round: 'floor' | 'ceil'): string => {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return at;
  const s = round === 'floor' ? Math.floor(t / 1000) : Math.ceil((t + 1) / 1000);
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
};

const historySpanNote = (changes: readonly MappingChange[], ref: ClusterRef, window?: TimeRange): string => {
  const times = changes.map((c) => c.at).sort();
  return spanText(
    `mapping changes of cluster ${refText(ref)}`,
    times[0] as string,
    times[times.length - 1] as string,
    window,
  );
};

/**
 * Lines read for access-at evidence: every principal of a quiet hour, and on a busy cluster the
 * latest minutes, where the principals that hold a session show up again and again anyway.
 */
const EVIDENCE_LINES = 1_000;

/**
 * `who-did --service-account ns/sa --cluster X` and `--pod ns/pod`: the requests, on any cluster, made
 * with IAM sessions issued to that workload. They are indexed under the workload identity (the human
 * posting), which names the cluster the pod runs on; a pod is found through its Pod Identity sessions.
 */
const workloadWhoDid = async (
  store: QuestionPort,
  q: Extract<PagedQuestion, { question: 'who-did' }>,
  binding: CursorBinding,
  scope: QuestionScope | undefined,
): Promise<QueryAnswer> => {
  // The pod's own cluster must be readable; the requests its sessions made span clusters, each shown
  // only when readable too.
  const ref = (await resolveCluster(store, q.cluster, true, scope)) as ClusterRef;
  const notes: string[] = [];
  let sa = q.serviceAccount;
  if (q.pod && !sa) {
    const sessions = (await store.podIssuances?.(ref, q.pod.namespace, q.pod.name)) ?? [];
    const accounts = [
      ...new Set(sessions.flatMap((i) => (i.workload?.serviceAccount ? [i.workload.serviceAccount] : []))),
    ];
    if (accounts.length === 0) {
      throw new QueryNotFoundError(
        `pod: no Pod Identity session of pod ${q.pod.namespace}/${q.pod.name} on cluster ${refText(ref)} is recorded (IRSA sessions never name their pod: ask by --service-account)`,
        'pod',
      );
    }
    if (accounts.length > 1) notes.push(`the pod used several service accounts; showing ${accounts[0]}`);
    sa = { namespace: q.pod.namespace, name: accounts[0] as string };
  }
  const s = sa as { namespace: string; name: string };
  const identity = workloadIdentity(ref, s.namespace, s.name);
  notes.push(`requests on any cluster made with sessions of ${identity}`);
  const page: PageRequest = q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
  const keep = (c: DecisionChain): boolean => {
    const h = c.human.value;
    if (!h || !eqi(h.identity, identity)) return false;
    if (q.pod && (h.workload?.pod !== q.pod.name || h.workload.namespace !== q.pod.namespace)) return false;
    const r = c.request.value;
    if (q.verbs && !q.verbs.includes(r?.verb ?? '')) return false;
    if (q.namespace !== undefined && r?.namespace !== q.namespace) return false;
    if (q.outcome && c.decision.value?.outcome !== q.outcome) return false;
    return true;
  };
  const visible = scope ? (r: StoredRequest) => scope.mayRead(r.ref) : undefined;
  if (visible) notes.push(SCOPED_NOTE);
  const { rows, nextCursor } = await chainRows(
    store,
    (cursor, limit) => store.requestsByHuman(identity, q.range, withCursor(limit, cursor)),
    keep,
    page,
    binding,
    visible,
  );
  return answer('who-did', ref, { window: q.range, rows, nextCursor, notes });
};

/** Adds who deployed the pod behind a workload session, from its cluster's trail (explain only). */
const withDeployer = async (
  store: QuestionPort,
  chain: DecisionChain,
  scope: QuestionScope | undefined,
): Promise<void> => {
  const w = chain.human.value?.workload;
  if (!w?.pod || !w.cluster || !w.accountId || w.deployedBy) return;
  const ref = { accountId: w.accountId, cluster: w.cluster };
  // The deployer comes from the pod cluster's audit trail: a caller who may not read that cluster
  // does not get it through a request on another one.
  if (scope && !scope.mayRead(ref)) return;
  try {
    w.deployedBy = await deployerOf(
      {
        requestsByResource: (r, sel, range, page) => store.requestsByResource(r, sel, range, page),
        derive: (rs) => derivePage(store, rs),
      },
      ref,
      w.namespace,
      w.pod,
      chain.at,
    );
  } catch {
    // Who deployed the pod is context; a failed lookup leaves the chain as derived.
  }
};

/** The authenticator's lines of the hour before `at`, newest first, bounded. */
const authenticatorEvidence = async (
  store: QuestionPort,
  ref: ClusterRef,
  at: string,
): Promise<StoredAuthenticatorRecord[]> => {
  const to = Date.parse(at);
  const range = { from: new Date(to - AUTHENTICATOR_EVIDENCE_WINDOW_MS).toISOString(), to: new Date(to).toISOString() };
  const out: StoredAuthenticatorRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.authenticatorRecords(ref, range, {
      limit: EVIDENCE_LINES - out.length,
      ...(cursor ? { cursor } : {}),
    });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined && out.length < EVIDENCE_LINES);
  return out;
};

const withCursor = (limit: number, cursor: string | undefined): PageRequest =>
  cursor === undefined ? { limit } : { limit, cursor };

const answer = (
  question: QuestionParams['question'],
  ref: ClusterRef | undefined,
  parts: {
    window?: TimeRange;
    at?: string;
    rows: object[];
    nextCursor?: string | undefined;
    notes: string[];
  },
): QueryAnswer => {
  const a: QueryAnswer = { question, rows: parts.rows, notes: parts.notes };
  if (ref) a.cluster = refText(ref);
  if (parts.window) a.window = parts.window;
  if (parts.at) a.at = parts.at;
  if (parts.nextCursor !== undefined) a.nextCursor = parts.nextCursor;
  return a;
};
