import { useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import type { ShownExplainRow as ExplainRow, RequestAnswer } from '../api.js';
import { ChainGraph, LINK_LABELS } from '../chain-graph.js';
import {
  DataTable,
  ErrorBox,
  ExportButtons,
  Loading,
  LongText,
  Notes,
  StatusBadge,
  type TableColumn,
  useApi,
  useReady,
  ViewTitle,
} from '../components.js';
import { accessHref, mappingsHref, searchHref, windowAround } from '../links.js';

/** One evidence reference as the chain names it (lib/chain: `audit:…`, `cloudtrail:<eventID>`, `mapping:<eventID>`…). */
const Evidence = ({
  item,
  cluster,
  mappingKey,
}: {
  item: string;
  cluster: string | undefined;
  mappingKey?: string;
}) => {
  const colon = item.indexOf(':');
  const kind = colon < 0 ? item : item.slice(0, colon);
  const ref = colon < 0 ? '' : item.slice(colon + 1);
  switch (kind) {
    case 'cloudtrail':
      return (
        <>
          CloudTrail event <code>{ref}</code>
        </>
      );
    case 'mapping':
      return (
        <>
          mapping version from change <code>{ref}</code>:{' '}
          <Link href={mappingsHref(cluster, { event: ref, ...(mappingKey ? { principal: mappingKey } : {}) })}>
            show it in the mapping timeline
          </Link>
        </>
      );
    case 'audit':
      return (
        <>
          audit event{ref.includes('-') && !ref.includes('.') ? ' ' : ' field '}
          <code>{ref}</code> (<a href="#raw-event">raw event</a>)
        </>
      );
    case 'authenticator':
      return (
        <>
          authenticator log line <code>{ref}</code> (<a href="#raw-event">raw record</a>)
        </>
      );
    default:
      return <code>{item}</code>;
  }
};

const chainTableColumns = (cluster: string | undefined, mappingKey?: string): TableColumn<ExplainRow>[] => [
  { key: 'step', header: '#' },
  { key: 'link', header: 'link', cell: (r) => LINK_LABELS[r.link] ?? r.link, text: (r) => r.link },
  { key: 'status', header: 'status', cell: (r) => <StatusBadge status={r.status} /> },
  { key: 'value', header: 'value', cell: (r) => <span className="wrap">{r.text || '–'}</span>, text: (r) => r.text },
  { key: 'why', header: 'why', cell: (r) => <span className="wrap">{r.why}</span> },
  {
    key: 'evidence',
    header: 'evidence',
    cell: (r) => (
      <ul className="evidence">
        {r.evidence.map((e) => (
          <li key={e}>
            <Evidence item={e} cluster={cluster} mappingKey={mappingKey} />
          </li>
        ))}
      </ul>
    ),
    text: (r) => r.evidence.join(' '),
  },
];

export const RequestView = () => {
  const [params] = useSearchParams();
  const auditId = params.get('audit-id') ?? '';
  const { data, error, loading } = useApi<RequestAnswer>(auditId ? '/api/request' : undefined, {
    cluster: params.get('cluster') ?? undefined,
    'audit-id': auditId,
    at: params.get('at') ?? undefined,
  });
  useReady(data !== undefined || error !== undefined || !auditId);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const rows = (data?.answer.rows ?? []) as ExplainRow[];
  const cluster = data?.answer.cluster ?? params.get('cluster') ?? undefined;
  const p = data?.pivots ?? {};
  const requestAt = rows.length ? /\bat (\S+)$/.exec(data?.answer.notes[0] ?? '')?.[1] : undefined;
  const w = windowAround(params.get('at') ?? requestAt);
  const pivots: Record<string, { href: string; label: string } | undefined> = {
    principal: p.principal
      ? { href: searchHref('who-did', cluster, w, { principal: p.principal }), label: 'Requests of this principal' }
      : undefined,
    human: p.human
      ? { href: searchHref('who-did', undefined, w, { human: p.human }), label: 'Everything this human did' }
      : undefined,
    mapping: p.mappingKey
      ? { href: mappingsHref(cluster, { principal: p.mappingKey }), label: 'History of this mapping' }
      : undefined,
    k8sIdentity: p.k8sUser
      ? {
          href: searchHref('who-did', cluster, w, { 'k8s-user': p.k8sUser }),
          label: 'Requests of this Kubernetes user',
        }
      : undefined,
    decision: requestAt ? { href: accessHref(cluster, requestAt), label: 'Who could authenticate then' } : undefined,
    request: p.target
      ? { href: searchHref('touched', cluster, w, { target: p.target }), label: 'Who else touched this object' }
      : undefined,
  };
  const current = rows.find((r) => r.link === selected);
  const columns = chainTableColumns(cluster, p.mappingKey);

  return (
    <section aria-labelledby="request-title">
      <ViewTitle>
        <span id="request-title">Request {auditId || '(no auditID)'}</span>
      </ViewTitle>
      {!auditId && (
        <p>
          Open a request from a search result (its time or auditID), or add <code>?audit-id=</code> to the URL.
        </p>
      )}
      {error && <ErrorBox error={error} />}
      {loading && <Loading />}
      {data && (
        <>
          <div className="answer-head">
            <p>cluster {cluster}</p>
            <ExportButtons name={`request-${auditId}`} rows={rows} columns={columns} raw={data.answer} />
          </div>
          <Notes notes={data.answer.notes} />
          <p className="legend" aria-hidden="true">
            <StatusBadge status="observed" /> a source stated it for this request · <StatusBadge status="derived" />{' '}
            computed from other facts or history · <StatusBadge status="unknown" /> not enough data (yet)
          </p>
          <ChainGraph rows={rows} pivots={pivots} selected={selected} onSelect={setSelected} />
          <section className="evidence-panel" aria-live="polite" aria-label="Evidence of the selected link">
            {current ? (
              <>
                <h2>
                  {LINK_LABELS[current.link]} <StatusBadge status={current.status} />
                </h2>
                <p className="wrap">
                  <LongText text={current.text || '(unknown)'} max={400} />
                </p>
                <p>{current.why}</p>
                <ul className="evidence">
                  {current.evidence.map((e) => (
                    <li key={e}>
                      <Evidence item={e} cluster={cluster} mappingKey={p.mappingKey} />
                    </li>
                  ))}
                </ul>
              </>
            ) : (
              <p className="muted">
                Select a link of the chain (click it, or Tab to it and press Enter) to see its evidence.
              </p>
            )}
          </section>
          <h2 id="chain-table">The chain as a table</h2>
          <DataTable caption="Chain link by link" rows={rows} columns={columns} rowKey={(r) => r.link} />
          <details id="raw-event" className="raw">
            <summary>Raw audit event (as the trail stores it)</summary>
            {data.stored ? (
              <pre>{JSON.stringify(data.stored, null, 2)}</pre>
            ) : (
              <p className="muted">{data.storedNote ?? 'not stored'}</p>
            )}
          </details>
        </>
      )}
    </section>
  );
};
