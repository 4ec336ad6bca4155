import { useEffect, useState } from 'react';
import { Link, useLocation, useSearchParams } from 'wouter';
import type { RequestRow } from '../../../lib/query/chain-rows.js';
import { decisionText, missingText } from '../../../lib/query/row-text.js';
import type { Info, QueryAnswer } from '../api.js';
import {
  ClusterList,
  DataTable,
  ErrorBox,
  ExportButtons,
  Field,
  Loading,
  Notes,
  Pivot,
  Select,
  type TableColumn,
  useApi,
  useReady,
  ViewTitle,
} from '../components.js';
import { clusterOf, href, mappingsHref, requestHref, searchHref, type Window, windowOf } from '../links.js';

/** The three listing questions and the filters each accepts (lib/query/params.ts, ALLOWED). */
const FILTERS: Record<string, { name: string; label: string; placeholder?: string }[]> = {
  'who-did': [
    { name: 'human', label: 'human', placeholder: 'alice@example.com' },
    { name: 'principal', label: 'principal ARN', placeholder: 'arn:aws:iam::111122223333:role/…' },
    { name: 'k8s-user', label: 'k8s user' },
    { name: 'verb', label: 'verb(s)', placeholder: 'create,patch' },
    { name: 'resource', label: 'resource', placeholder: 'deployments.apps' },
    { name: 'namespace', label: 'namespace' },
  ],
  denied: [{ name: 'principal', label: 'principal ARN' }],
  touched: [{ name: 'target', label: 'target', placeholder: 'kube-system/configmaps/aws-auth' }],
};
const SELECTS: Record<string, { name: string; label: string; options: string[] }[]> = {
  'who-did': [{ name: 'outcome', label: 'outcome', options: ['', 'allow', 'forbid', 'authn-failed', 'unknown'] }],
  denied: [
    {
      name: 'stage',
      label: 'stage',
      options: ['', 'token', 'sts', 'unmapped', 'template', 'reserved-prefix', 'authentication', 'authorization'],
    },
  ],
  touched: [{ name: 'access', label: 'access', options: ['', 'read', 'write', 'any'] }],
};
const QUESTIONS = ['who-did', 'denied', 'touched'];
const COMMON = ['cluster', 'since', 'from', 'to', 'limit'];

const allowed = (q: string): string[] => [
  ...COMMON,
  ...(FILTERS[q] ?? []).map((f) => f.name),
  ...(SELECTS[q] ?? []).map((f) => f.name),
];

const chainColumns = (cluster: string | undefined, w: Window, denied: boolean): TableColumn<RequestRow>[] => {
  const c = (r: RequestRow) => clusterOf(r) ?? cluster;
  const time: TableColumn<RequestRow> = {
    key: 'time',
    header: 'time',
    cell: (r) =>
      r.auditID ? (
        <Link href={requestHref(c(r), r.auditID, r.time)} aria-label={`Open request ${r.auditID} at ${r.time}`}>
          {r.time}
        </Link>
      ) : (
        <span title={r.chainId}>{r.time}</span>
      ),
  };
  const human: TableColumn<RequestRow> = {
    key: 'human',
    header: 'human',
    text: (r) => r.human?.identity,
    cell: (r) => (
      <Pivot
        label="Requests of human"
        text={r.human?.identity}
        to={r.human && searchHref('who-did', c(r), w, { human: r.human.identity })}
        max={32}
      />
    ),
  };
  const principal: TableColumn<RequestRow> = {
    key: 'principal',
    header: 'principal',
    text: (r) => r.principal.arn,
    cell: (r) => (
      <Pivot
        label="Requests of principal"
        text={r.principal.arn}
        to={r.principal.arn && searchHref('who-did', c(r), w, { principal: r.principal.arn })}
      />
    ),
  };
  const mapping: TableColumn<RequestRow> = {
    key: 'mapping',
    header: 'mapping',
    cell: (r) => (
      <Pivot
        label={`Mapping history of ${r.mapping?.key ?? r.mapping?.source}`}
        text={r.mapping?.source}
        to={r.mapping?.key ? mappingsHref(c(r), { principal: r.mapping.key }) : undefined}
        max={20}
      />
    ),
    text: (r) => r.mapping?.source,
  };
  const user: TableColumn<RequestRow> = {
    key: 'username',
    header: 'k8s user',
    text: (r) => r.k8s.user,
    cell: (r) => (
      <Pivot
        label="Requests of Kubernetes user"
        text={r.k8s.user}
        to={r.k8s.user && searchHref('who-did', c(r), w, { 'k8s-user': r.k8s.user })}
        max={36}
      />
    ),
  };
  const target: TableColumn<RequestRow> = {
    key: 'target',
    header: 'target',
    text: (r) => r.target ?? r.requestURI,
    cell: (r) => (
      <Pivot
        label="Requests that touched"
        text={r.target ?? r.requestURI}
        to={r.target ? searchHref('touched', c(r), w, { target: r.target }) : undefined}
        max={40}
      />
    ),
  };
  const plain = (key: string, header: string, text: (r: RequestRow) => unknown, max = 24): TableColumn<RequestRow> => ({
    key,
    header,
    text,
    max,
  });
  const audit: TableColumn<RequestRow> = {
    key: 'auditID',
    header: 'auditID',
    cell: (r) =>
      r.auditID ? (
        <Pivot label="Explain request" text={r.auditID} to={requestHref(c(r), r.auditID, r.time)} max={12} />
      ) : (
        <span className="muted">–</span>
      ),
  };
  const verb = plain('verb', 'verb', (r) => r.verb);
  const code = plain('code', 'code', (r) => r.status);
  const why = plain('why', 'why', (r) => decisionText(r.decision), 48);
  return denied
    ? [
        time,
        plain('failedStage', 'stage', (r) => r.decision.failedStage),
        principal,
        human,
        user,
        verb,
        target,
        code,
        plain('missing', 'missing permission', (r) => missingText(r.decision.missing), 40),
        why,
        audit,
      ]
    : [
        time,
        human,
        principal,
        mapping,
        user,
        verb,
        target,
        code,
        plain('outcome', 'outcome', (r) => r.decision.outcome),
        why,
        audit,
      ];
};

export const SearchView = ({ info }: { info: Info | undefined }) => {
  const [params] = useSearchParams();
  const [, navigate] = useLocation();
  const question = QUESTIONS.includes(params.get('q') ?? '') ? (params.get('q') as string) : 'who-did';
  const hasWindow = params.has('since') || params.has('from') || params.has('to');
  const clusterList = useApi<{ clusters: string[] }>('/api/clusters', {});
  const clusters = clusterList.data?.clusters;
  // Listing a cluster needs one: a URL without it starts on the first known cluster (who-did of a human or
  // principal is fleet-wide). A URL without a window starts on the replayed data's span when known.
  const needsCluster =
    !params.has('cluster') && !(question === 'who-did' && (params.has('human') || params.has('principal')));
  const firstCluster = clusters?.[0];
  const fillCluster = needsCluster && firstCluster !== undefined;
  const fillWindow = !hasWindow && info?.defaultWindow !== undefined;
  useEffect(() => {
    if (!fillCluster && !fillWindow) return;
    const next = new URLSearchParams(params);
    if (fillCluster) next.set('cluster', firstCluster as string);
    if (fillWindow && info?.defaultWindow) {
      next.set('from', info.defaultWindow.from);
      next.set('to', info.defaultWindow.to);
    }
    navigate(`/search?${next.toString()}`, { replace: true });
  }, [fillCluster, fillWindow, firstCluster, info, params, navigate]);
  const apiParams: Record<string, string | undefined> = {};
  for (const k of [...allowed(question), 'cursor']) apiParams[k] = params.get(k) ?? undefined;
  const waiting = fillWindow || fillCluster || (needsCluster && clusterList.loading);
  const { data, error, loading } = useApi<QueryAnswer>(waiting ? undefined : `/api/ask/${question}`, apiParams);
  useReady(data !== undefined || error !== undefined);
  const cluster = params.get('cluster') ?? data?.cluster ?? undefined;
  const w = windowOf(params);
  const rows = (data?.rows ?? []) as RequestRow[];
  const columns = chainColumns(cluster, w, question === 'denied');

  return (
    <section aria-labelledby="search-title">
      <ViewTitle>
        <span id="search-title">Search: {question}</span>
      </ViewTitle>
      <SearchForm question={question} params={params} />
      {error && <ErrorBox error={error} />}
      {loading && <Loading />}
      {data && (
        <>
          <div className="answer-head">
            <p>
              {data.cluster ? `cluster ${data.cluster}` : 'all clusters'}
              {data.window && ` · ${data.window.from} – ${data.window.to}`} · {rows.length} row(s)
            </p>
            <ExportButtons
              name={`${question}${data.cluster ? `-${data.cluster.replace('/', '-')}` : ''}`}
              rows={rows}
              columns={columns}
              raw={data}
            />
          </div>
          <Notes notes={data.notes} />
          {rows.length === 0 ? (
            <p className="muted">No requests match in this window.</p>
          ) : (
            <DataTable
              caption={`${question} answer`}
              rows={rows}
              columns={columns}
              rowKey={(r) => r.chainId}
              rowClass={(r) => (r.decision.outcome === 'allow' ? undefined : `outcome-${r.decision.outcome}`)}
            />
          )}
          <nav className="pager" aria-label="Pages">
            {params.has('cursor') && (
              <button type="button" onClick={() => history.back()}>
                ← Previous page
              </button>
            )}
            {data.nextCursor && (
              <Link href={href('/search', { ...Object.fromEntries(params), cursor: data.nextCursor })}>
                Next page →
              </Link>
            )}
          </nav>
        </>
      )}
    </section>
  );
};

const SearchForm = ({ question, params }: { question: string; params: URLSearchParams }) => {
  const [, navigate] = useLocation();
  const initial = (): Record<string, string> => {
    const o: Record<string, string> = {};
    for (const k of allowed(question)) o[k] = params.get(k) ?? '';
    return o;
  };
  const [form, setForm] = useState<Record<string, string>>(initial);
  const [q, setQ] = useState(question);
  // The URL is the state: a pivot or Back changes it, and the form follows.
  const urlKey = params.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-read the form whenever the URL changes
  useEffect(() => {
    setForm(initial());
    setQ(question);
  }, [urlKey]);
  const set = (k: string) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const submit = (e: { preventDefault(): void }) => {
    e.preventDefault();
    const keep: Record<string, string | undefined> = { q };
    for (const k of allowed(q)) keep[k] = form[k] || undefined;
    navigate(href('/search', keep));
  };
  return (
    <form className="search-form" onSubmit={submit} aria-label="Question and filters">
      <Select label="question" name="q" value={q} options={QUESTIONS} onChange={setQ} />
      <Field label="cluster" name="cluster" value={form.cluster ?? ''} onChange={set('cluster')} list="clusters" />
      <ClusterList id="clusters" />
      {(FILTERS[q] ?? []).map((f) => (
        <Field
          key={f.name}
          label={f.label}
          name={f.name}
          value={form[f.name] ?? ''}
          placeholder={f.placeholder}
          onChange={set(f.name)}
        />
      ))}
      {(SELECTS[q] ?? []).map((s) => (
        <Select
          key={s.name}
          label={s.label}
          name={s.name}
          value={form[s.name] ?? ''}
          options={s.options}
          onChange={set(s.name)}
        />
      ))}
      <Field label="since" name="since" value={form.since ?? ''} placeholder="24h" onChange={set('since')} />
      <Field
        label="from"
        name="from"
        value={form.from ?? ''}
        placeholder="2025-06-02T08:00:00Z"
        onChange={set('from')}
      />
      <Field label="to" name="to" value={form.to ?? ''} placeholder="2025-06-02T16:00:00Z" onChange={set('to')} />
      <Field label="rows per page" name="limit" value={form.limit ?? ''} placeholder="50" onChange={set('limit')} />
      <button type="submit" className="primary">
        Search
      </button>
    </form>
  );
};
