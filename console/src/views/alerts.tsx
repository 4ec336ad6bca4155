import { Link, useLocation, useSearchParams } from 'wouter';
import type { Alert, Finding } from '../../../lib/alerts/types.js';
import type { AlertsAnswer, Info, PostureAnswer } from '../api.js';
import {
  ClusterList,
  DataTable,
  ErrorBox,
  ExportButtons,
  Loading,
  Pivot,
  SeverityBadge,
  type TableColumn,
  useApi,
  useReady,
  ViewTitle,
} from '../components.js';
import {
  accessHref,
  alertsHref,
  clusterOf,
  isPrincipalArn,
  mappingsHref,
  requestHref,
  searchHref,
  windowAround,
} from '../links.js';

const findingColumns: TableColumn<Finding>[] = [
  { key: 'severity', header: 'severity', cell: (f) => <SeverityBadge severity={f.severity} /> },
  { key: 'cluster', header: 'cluster', cell: (f) => clusterOf(f) },
  { key: 'ruleId', header: 'rule', max: 28 },
  {
    key: 'title',
    header: 'finding',
    cell: (f) => (
      <details>
        <summary className="wrap">{f.title}</summary>
        <p className="wrap">{f.detail}</p>
        {f.commands && f.commands.length > 0 && <pre className="commands">{f.commands.join('\n')}</pre>}
      </details>
    ),
  },
  {
    key: 'principalArn',
    header: 'principal',
    cell: (f) => (
      <Pivot
        label="Requests of principal"
        text={f.principalArn}
        to={
          isPrincipalArn(f.principalArn)
            ? searchHref('who-did', clusterOf(f), windowAround(f.since), { principal: f.principalArn })
            : undefined
        }
        max={36}
      />
    ),
  },
  {
    key: 'evidence',
    header: 'evidence',
    cell: (f) => (
      <span className="links">
        <Link
          href={mappingsHref(clusterOf(f), {
            ...(isPrincipalArn(f.principalArn) ? { principal: f.principalArn } : {}),
            ...(f.sourceEventId ? { event: f.sourceEventId } : {}),
          })}
          aria-label={`Mapping history behind: ${f.title}`}
        >
          mapping history
        </Link>
        {f.since && (
          <Link href={accessHref(clusterOf(f), f.since)} aria-label={`Access at ${f.since}`}>
            access since {f.since.slice(0, 10)}
          </Link>
        )}
      </span>
    ),
    text: (f) => [f.sourceEventId, f.since].filter(Boolean).join(' '),
  },
];

const alertColumns: TableColumn<Alert>[] = [
  { key: 'severity', header: 'severity', cell: (a) => <SeverityBadge severity={a.severity} /> },
  { key: 'at', header: 'time', max: 27 },
  { key: 'cluster', header: 'cluster', cell: (a) => clusterOf(a) },
  {
    key: 'title',
    header: 'alert',
    cell: (a) => (
      <details>
        <summary className="wrap">{a.title}</summary>
        <pre className="diff-text">{a.diff.lines.join('\n')}</pre>
        {a.related?.notes?.map((n) => (
          <p key={n}>{n}</p>
        ))}
      </details>
    ),
  },
  {
    key: 'actor',
    header: 'by',
    cell: (a) => {
      const arn = a.actor.canonicalArn ?? a.actor.awsArn;
      return (
        <Pivot
          label="Requests of actor"
          text={a.actor.awsArn ?? a.actor.k8sUsername ?? a.actor.canonicalArn}
          to={
            isPrincipalArn(arn)
              ? searchHref('who-did', clusterOf(a), windowAround(a.at), { principal: arn })
              : undefined
          }
          max={48}
        />
      );
    },
    text: (a) => a.actor.awsArn ?? a.actor.k8sUsername,
  },
  {
    key: 'human',
    header: 'human',
    cell: (a) => (
      <Pivot
        label="Everything this human did"
        text={a.human}
        to={a.human && searchHref('who-did', undefined, windowAround(a.at), { human: a.human })}
        max={32}
      />
    ),
  },
  {
    key: 'evidence',
    header: 'evidence',
    cell: (a) => {
      // A first use is evidenced by the request it made (evidence.question explain), a change by the timeline.
      const ev = a.evidence;
      const request = ev?.question === 'explain' ? ev.params['audit-id'] : undefined;
      const changes = request ? a.sourceEventIds.slice(0, -1) : a.sourceEventIds;
      return (
        <span className="links">
          {request && ev && (
            <Link href={requestHref(clusterOf(a), request, ev.params['at'])} aria-label={`Request ${request}`}>
              request {request.slice(0, 8)}
            </Link>
          )}
          {changes.map((id) => (
            <Link
              key={id}
              href={mappingsHref(clusterOf(a), {
                event: id,
                ...(isPrincipalArn(a.related?.principalArn) ? { principal: a.related?.principalArn } : {}),
              })}
              aria-label={`Change ${id} in the mapping timeline`}
            >
              change {id.slice(0, 8)}
            </Link>
          ))}
        </span>
      );
    },
    text: (a) => a.evidence?.command ?? a.sourceEventIds.join(' '),
  },
];

export const AlertsView = ({ info }: { info: Info | undefined }) => {
  const [params] = useSearchParams();
  const [, navigate] = useLocation();
  const cluster = params.get('cluster') ?? undefined;
  const posture = useApi<PostureAnswer>('/api/posture', { cluster });
  const alerts = useApi<AlertsAnswer>('/api/alerts', { cluster });
  useReady(!posture.loading && !alerts.loading);
  const findings = posture.data?.findings ?? [];
  const list = alerts.data?.alerts ?? [];
  return (
    <section aria-labelledby="alerts-title">
      <ViewTitle>
        <span id="alerts-title">Alerts and posture{cluster ? ` of ${cluster}` : ''}</span>
      </ViewTitle>
      <form
        className="search-form"
        aria-label="Cluster"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(alertsHref(String(new FormData(e.currentTarget).get('cluster') ?? '') || undefined));
        }}
      >
        <label className="field">
          <span>cluster (empty: all)</span>
          <input name="cluster" defaultValue={cluster} key={cluster} list="clusters" />
        </label>
        <ClusterList id="clusters" />
        <button type="submit">Show</button>
      </form>
      {info?.mode === 'api' && (
        <p className="notes">
          Posture and alerts read the trail table: start the console in local mode or with --table.
        </p>
      )}
      <section aria-labelledby="posture-title">
        <h2 id="posture-title">
          Posture now <span className="count">{findings.length}</span>
        </h2>
        {posture.error && <ErrorBox error={posture.error} />}
        {posture.loading && <Loading />}
        {posture.data && (
          <>
            <div className="answer-head">
              <p>mapping risks in force at {posture.data.at}</p>
              <ExportButtons name="posture" rows={findings} columns={findingColumns} raw={findings} />
            </div>
            <DataTable
              caption="Posture findings"
              rows={findings}
              columns={findingColumns}
              rowKey={(f) => f.findingId}
            />
          </>
        )}
      </section>
      <section aria-labelledby="alerts-list-title">
        <h2 id="alerts-list-title">
          Mapping-change alerts <span className="count">{list.length}</span>
        </h2>
        {alerts.error && <ErrorBox error={alerts.error} />}
        {alerts.loading && <Loading />}
        {alerts.data && (
          <>
            <div className="answer-head">
              <p className="muted">{alerts.data.source}</p>
              <ExportButtons name="alerts" rows={list} columns={alertColumns} raw={list} />
            </div>
            <DataTable caption="Alerts" rows={list} columns={alertColumns} rowKey={(a) => a.alertId} />
          </>
        )}
      </section>
    </section>
  );
};
