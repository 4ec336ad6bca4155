import { useEffect } from 'react';
import { Link, useLocation, useSearchParams } from 'wouter';
import type { HistoryRow } from '../../../lib/query/mappings.js';
import type { QueryAnswer } from '../api.js';
import {
  ClusterList,
  ErrorBox,
  ExportButtons,
  Loading,
  Notes,
  Pivot,
  type TableColumn,
  useApi,
  useReady,
  ViewTitle,
} from '../components.js';
import {
  accessHref,
  actorArn,
  actorLabel,
  href,
  isPrincipalArn,
  mappingsHref,
  searchHref,
  windowAround,
} from '../links.js';

const COLUMNS: TableColumn<HistoryRow>[] = [
  { key: 'at', header: 'time' },
  { key: 'change', header: 'change' },
  { key: 'target', header: 'target' },
  { key: 'actor', header: 'by', text: (r) => actorLabel(r.actor) },
  { key: 'source', header: 'source' },
  { key: 'diff', header: 'diff', text: (r) => r.diff.join('\n') },
  { key: 'sourceEventId', header: 'event' },
];

const DiffLines = ({ lines }: { lines: readonly string[] }) =>
  lines.length === 0 ? (
    <p className="muted">no visible difference</p>
  ) : (
    <table className="diff">
      <caption className="sr-only">Before and after</caption>
      <tbody>
        {lines.map((l, i) => {
          const sign = l[0];
          const kind = sign === '+' ? 'added' : sign === '-' ? 'removed' : sign === '!' ? 'warning' : 'context';
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: diff lines may repeat; their order is their identity
            <tr key={i} className={`diff-${kind}`}>
              <th scope="row" className="diff-sign">
                <span aria-hidden="true">{sign}</span>
                <span className="sr-only">{kind}</span>
              </th>
              <td>{l.slice(2)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );

export const MappingsView = () => {
  const [params] = useSearchParams();
  const [, navigate] = useLocation();
  const cluster = params.get('cluster') ?? '';
  const principal = params.get('principal') ?? '';
  const event = params.get('event') ?? undefined;
  const { data, error, loading } = useApi<QueryAnswer>('/api/ask/mappings-history', {
    cluster: cluster || undefined,
    principal: principal || undefined,
    since: params.get('since') ?? undefined,
    from: params.get('from') ?? undefined,
    to: params.get('to') ?? undefined,
    limit: params.get('limit') ?? '1000',
    cursor: params.get('cursor') ?? undefined,
  });
  useReady(data !== undefined || error !== undefined);
  const rows = (data?.rows ?? []) as HistoryRow[];
  const shownCluster = data?.cluster ?? (cluster || undefined);
  useEffect(() => {
    if (event && data) document.getElementById(`change-${event}`)?.scrollIntoView({ block: 'center' });
  }, [event, data]);

  return (
    <section aria-labelledby="mappings-title">
      <ViewTitle>
        <span id="mappings-title">Mapping history{shownCluster ? ` of ${shownCluster}` : ''}</span>
      </ViewTitle>
      <form
        className="search-form"
        aria-label="Cluster and principal"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          navigate(
            mappingsHref(String(f.get('cluster') ?? '') || undefined, {
              principal: String(f.get('principal') ?? '') || undefined,
            }),
          );
        }}
      >
        <MappingFields cluster={cluster} principal={principal} />
        <button type="submit" className="primary">
          Show
        </button>
        {principal && <Link href={mappingsHref(cluster || undefined)}>all principals</Link>}
      </form>
      {error && <ErrorBox error={error} />}
      {loading && <Loading />}
      {data && (
        <>
          <div className="answer-head">
            <p>
              {rows.length} change(s){principal ? ` concerning ${principal}` : ''}
            </p>
            <ExportButtons
              name={`mappings-${(shownCluster ?? 'cluster').replace('/', '-')}`}
              rows={rows}
              columns={COLUMNS}
              raw={data}
            />
          </div>
          <Notes notes={data.notes} />
          <ol className="timeline" aria-label="Mapping changes, oldest first">
            {rows.map((r) => {
              const actor = actorArn(r.actor);
              return (
                <li
                  key={`${r.sourceEventId}-${r.change}-${r.target}`}
                  id={`change-${r.sourceEventId}`}
                  className={`change change-${r.change}${event === r.sourceEventId ? ' highlighted' : ''}`}
                  aria-current={event === r.sourceEventId ? 'true' : undefined}
                >
                  <div className="change-head">
                    <time dateTime={r.at}>{r.at}</time>
                    <span className="badge change-kind">{r.change}</span>
                    <span className="muted">{r.source}</span>
                  </div>
                  <dl className="change-meta">
                    <dt>target</dt>
                    <dd>
                      {isPrincipalArn(r.target) ? (
                        <Pivot
                          label="History of mapping"
                          text={r.target}
                          to={mappingsHref(shownCluster, { principal: r.target })}
                          max={90}
                        />
                      ) : (
                        r.target
                      )}
                    </dd>
                    <dt>by</dt>
                    <dd>
                      <Pivot
                        label="Requests of actor"
                        text={actorLabel(r.actor)}
                        to={
                          actor
                            ? searchHref('who-did', shownCluster, windowAround(r.at), { principal: actor })
                            : undefined
                        }
                        max={90}
                      />
                    </dd>
                    <dt>event</dt>
                    <dd>
                      <code>{r.sourceEventId}</code>
                    </dd>
                  </dl>
                  <DiffLines lines={r.diff} />
                  <Link href={accessHref(shownCluster, r.at)} className="small">
                    Who could authenticate right after this change →
                  </Link>
                </li>
              );
            })}
          </ol>
          {data.nextCursor && (
            <Link href={href('/mappings', { ...Object.fromEntries(params), cursor: data.nextCursor })}>
              More changes →
            </Link>
          )}
        </>
      )}
    </section>
  );
};

const MappingFields = ({ cluster, principal }: { cluster: string; principal: string }) => (
  <>
    <label className="field">
      <span>cluster</span>
      <input name="cluster" defaultValue={cluster} list="clusters" key={cluster} />
    </label>
    <ClusterList id="clusters" />
    <label className="field wide">
      <span>principal ARN</span>
      <input name="principal" defaultValue={principal} key={principal} placeholder="arn:aws:iam::111122223333:role/…" />
    </label>
  </>
);
