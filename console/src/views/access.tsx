import { useEffect, useId, useState } from 'react';
import { useLocation, useSearchParams } from 'wouter';
import type { AccessAtRow, HistoryRow } from '../../../lib/query/mappings.js';
import type { QueryAnswer } from '../api.js';
import {
  ClusterList,
  cellString,
  DataTable,
  ErrorBox,
  ExportButtons,
  Loading,
  LongText,
  Notes,
  Pivot,
  type TableColumn,
  useApi,
  useReady,
  ViewTitle,
} from '../components.js';
import { accessHref, actorArn, actorLabel, isPrincipalArn, mappingsHref, searchHref, windowAround } from '../links.js';

const GROUP_LABELS: Record<string, string> = {
  'cluster-creator': 'Cluster creator',
  'access-entry': 'Access entries',
  'aws-auth-role': 'aws-auth mapRoles',
  'aws-auth-user': 'aws-auth mapUsers',
  'aws-auth-account': 'aws-auth mapAccounts',
  authenticator: "Seen in the authenticator's own log",
};

const columns = (cluster: string | undefined, at: string | undefined): TableColumn<AccessAtRow>[] => [
  {
    key: 'principal',
    header: 'principal',
    cell: (r) => (
      <Pivot
        label="Requests of principal"
        text={r.principal}
        to={
          isPrincipalArn(r.principal)
            ? searchHref('who-did', cluster, windowAround(at), { principal: r.principal })
            : undefined
        }
        max={70}
      />
    ),
  },
  { key: 'username', header: 'k8s user', max: 40 },
  { key: 'groups', header: 'groups', max: 30 },
  {
    key: 'policies',
    header: 'access policies',
    max: 40,
    text: (r) =>
      r.policies
        .map((p) => (p.scope === 'namespace' ? `${p.name}@ns:${(p.namespaces ?? []).join(',')}` : `${p.name}@cluster`))
        .join(', '),
  },
  {
    key: 'since',
    header: 'since',
    cell: (r) =>
      r.sourceEventId && isPrincipalArn(r.principal) ? (
        <Pivot
          label="This mapping's history"
          text={r.since}
          to={mappingsHref(cluster, { principal: r.principal, event: r.sourceEventId })}
          max={27}
        />
      ) : (
        <LongText text={r.since} max={27} />
      ),
  },
  {
    key: 'actor',
    header: 'by',
    cell: (r) => {
      const arn = actorArn(r.actor);
      return (
        <Pivot
          label="Requests of actor"
          text={actorLabel(r.actor)}
          to={arn ? searchHref('who-did', cluster, windowAround(r.since), { principal: arn }) : undefined}
          max={40}
        />
      );
    },
  },
  { key: 'note', header: 'note', max: 60 },
];

/** The instants at which the mapping state changed: the stops of the time control. */
const useChangeInstants = (cluster: string | undefined): string[] => {
  const { data } = useApi<QueryAnswer>(cluster ? '/api/ask/mappings-history' : undefined, { cluster, limit: '1000' });
  return [...new Set(((data?.rows ?? []) as HistoryRow[]).map((r) => r.at))].sort();
};

const TimeControl = ({ cluster, at, instants }: { cluster: string | undefined; at: string; instants: string[] }) => {
  const [, navigate] = useLocation();
  const [text, setText] = useState(at);
  useEffect(() => setText(at), [at]);
  const id = useId();
  const go = (t: string) => navigate(accessHref(cluster, t));
  const atMs = Date.parse(at);
  const before = instants.filter((t) => Date.parse(t) < atMs);
  const after = instants.filter((t) => Date.parse(t) > atMs);
  const index = Math.max(0, before.length - (instants.includes(at) ? 0 : 1));
  return (
    <form
      className="time-control"
      aria-label="Time T"
      onSubmit={(e) => {
        e.preventDefault();
        go(text);
      }}
    >
      <label className="field" htmlFor={`${id}-t`}>
        <span>T (UTC)</span>
        <input id={`${id}-t`} name="at" value={text} onChange={(e) => setText(e.currentTarget.value)} />
      </label>
      <button type="submit" className="primary">
        Show access at T
      </button>
      <button type="button" disabled={before.length === 0} onClick={() => go(before[before.length - 1] as string)}>
        ← previous change
      </button>
      <button type="button" disabled={after.length === 0} onClick={() => go(after[0] as string)}>
        next change →
      </button>
      {instants.length > 1 && (
        <label className="field wide" htmlFor={`${id}-r`}>
          <span>
            mapping change {Math.min(index + 1, instants.length)} of {instants.length}
          </span>
          <input
            id={`${id}-r`}
            type="range"
            min={0}
            max={instants.length - 1}
            value={Math.min(index, instants.length - 1)}
            aria-valuetext={instants[Math.min(index, instants.length - 1)]}
            onChange={(e) => go(instants[Number(e.currentTarget.value)] as string)}
          />
        </label>
      )}
    </form>
  );
};

export const AccessView = () => {
  const [params] = useSearchParams();
  const [, navigate] = useLocation();
  const cluster = params.get('cluster') ?? undefined;
  const at = params.get('at') ?? undefined;
  const { data, error, loading } = useApi<QueryAnswer>('/api/ask/access-at', {
    cluster,
    at,
    principal: params.get('principal') ?? undefined,
    limit: '1000',
  });
  useReady(data !== undefined || error !== undefined);
  const shownCluster = data?.cluster ?? cluster;
  const instants = useChangeInstants(shownCluster);
  const rows = (data?.rows ?? []) as AccessAtRow[];
  const groups = new Map<string, AccessAtRow[]>();
  for (const r of rows) groups.set(r.source, [...(groups.get(r.source) ?? []), r]);
  const cols = columns(shownCluster, data?.at);
  return (
    <section aria-labelledby="access-title">
      <ViewTitle>
        <span id="access-title">
          Access at {data?.at ?? at ?? 'now'}
          {shownCluster ? ` on ${shownCluster}` : ''}
        </span>
      </ViewTitle>
      <form
        className="search-form"
        aria-label="Cluster"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(accessHref(String(new FormData(e.currentTarget).get('cluster') ?? '') || undefined, at));
        }}
      >
        <label className="field">
          <span>cluster</span>
          <input name="cluster" defaultValue={cluster} key={cluster} list="clusters" />
        </label>
        <ClusterList id="clusters" />
        <button type="submit">Change cluster</button>
      </form>
      {data && <TimeControl cluster={shownCluster} at={data.at ?? ''} instants={instants} />}
      {error && <ErrorBox error={error} />}
      {loading && <Loading />}
      {data && (
        <>
          <div className="answer-head">
            <p>
              {rows.length} mapping(s) in {groups.size} group(s)
            </p>
            <ExportButtons
              name={`access-at-${(shownCluster ?? '').replace('/', '-')}`}
              rows={rows}
              columns={[
                { key: 'source', header: 'via' },
                ...cols.map((c) => ({
                  ...c,
                  text: (r: AccessAtRow) => cellString((r as unknown as Record<string, unknown>)[c.key]),
                })),
              ]}
              raw={data}
            />
          </div>
          <Notes notes={data.notes} />
          {[...groups].map(([source, list]) => (
            <section key={source} className="group" aria-labelledby={`group-${source}`}>
              <h2 id={`group-${source}`}>
                {GROUP_LABELS[source] ?? source} <span className="count">{list.length}</span>
              </h2>
              <DataTable
                caption={GROUP_LABELS[source] ?? source}
                rows={list}
                columns={cols}
                rowKey={(r, i) => `${r.principal}-${i}`}
              />
            </section>
          ))}
        </>
      )}
    </section>
  );
};
