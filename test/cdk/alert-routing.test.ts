import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { validateTrailConfig } from '../../cdk/config.js';
import { ALERT_EVENT_DETAIL_TYPE, ALERT_EVENT_SOURCE } from '../../lib/alerts/alert-event.js';
import { ENV } from '../../lib/runtime-env.js';
import { CENTRAL, multiAccountInput, synthApp } from './support/trail-apps.js';

/** Alert routing in the central stack: EventBridge always, Security Hub behind `alertRouting.securityHub`. */

// biome-ignore lint/suspicious/noExplicitAny: assertions walk nested template and record fields
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const central = (input: unknown) => {
  const t = Template.fromStack(synthApp(input).stacks.central);
  return t.toJSON().Resources as Resources;
};

const fnOf = (resources: Resources, service: string) =>
  Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );

const statementsOf = (resources: Resources, rolePrefix: RegExp) =>
  Object.values(resources)
    .filter(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref: string }) => rolePrefix.test(x.Ref)),
    )
    .flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: unknown;
        }[],
    );

const busArn = `arn:aws:events:${CENTRAL.region}:${CENTRAL.account}:event-bus/default`;
const productArn = `arn:aws:securityhub:${CENTRAL.region}:${CENTRAL.account}:product/${CENTRAL.account}/default`;

const resolved = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : JSON.stringify(v)
        .replace(/\{"Ref":"AWS::Partition"\}/g, 'aws')
        .replace(/[{}"[\]]|Fn::Join|,/g, '')
        .replace(/^:/, '');

describe('central stack: alert routing', () => {
  describe('by default', () => {
    const resources = central(multiAccountInput);

    it.each(['log-ingest', 'cloudtrail-ingest'])(
      '%s puts alerts on the default bus, as this source only',
      (service) => {
        const vars = fnOf(resources, service)?.Properties.Environment.Variables;
        expect(vars[ENV.alertEventBusName]).toBe('default');
        expect(JSON.parse(vars[ENV.alertClusterRegions])).toEqual({
          '222222222222/prod': 'eu-west-1',
          '222222222222/prod-us': 'us-west-2',
          '333333333333/staging': 'eu-west-1',
        });
        expect(vars).not.toHaveProperty(ENV.alertSecurityHubProductArn);
        const role = service === 'log-ingest' ? /^LogIngestRole/ : /^CloudTrailIngestRole/;
        const puts = statementsOf(resources, role).filter((s) => s.Action === 'events:PutEvents');
        expect(puts).toHaveLength(1);
        expect(resolved(puts[0]!.Resource)).toBe(busArn);
        expect(puts[0]!.Condition).toEqual({
          StringEquals: { 'events:source': ALERT_EVENT_SOURCE, 'events:detail-type': ALERT_EVENT_DETAIL_TYPE },
        });
        expect(
          statementsOf(resources, role).some((s) => [s.Action].flat().some((a) => a.startsWith('securityhub:'))),
        ).toBe(false);
      },
    );

    it.each(['query-api', 'posture-report'])('gives %s no routing right', (service) => {
      const vars = fnOf(resources, service)?.Properties.Environment.Variables;
      expect(vars).not.toHaveProperty(ENV.alertEventBusName);
    });
  });

  describe('with alertRouting {eventBusName: security-findings, securityHub: true}', () => {
    const resources = central({
      ...multiAccountInput,
      alertRouting: { eventBusName: 'security-findings', securityHub: true },
    });

    it.each([/^LogIngestRole/, /^CloudTrailIngestRole/])(
      '%s imports findings into the default product only',
      (role) => {
        const stmts = statementsOf(resources, role);
        const imports = stmts.filter((s) => s.Action === 'securityhub:BatchImportFindings');
        expect(imports).toHaveLength(1);
        expect(resolved(imports[0]!.Resource)).toBe(productArn);
        expect(stmts.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('securityhub:'))).toEqual([
          'securityhub:BatchImportFindings',
        ]);
        const put = stmts.find((s) => s.Action === 'events:PutEvents');
        expect(resolved(put?.Resource)).toBe(busArn.replace('default', 'security-findings'));
      },
    );

    it('tells the functions the product ARN', () => {
      const vars = fnOf(resources, 'cloudtrail-ingest')?.Properties.Environment.Variables;
      expect(resolved(vars[ENV.alertSecurityHubProductArn])).toBe(productArn);
      expect(vars[ENV.alertEventBusName]).toBe('security-findings');
    });
  });
});

describe('alertRouting configuration', () => {
  it.each([
    [{ alertRouting: 'default' }, 'alertRouting'],
    [{ alertRouting: { bus: 'x' } }, 'alertRouting.bus'],
    [{ alertRouting: { eventBusName: 'my bus' } }, 'alertRouting.eventBusName'],
    [{ alertRouting: { securityHub: 'yes' } }, 'alertRouting.securityHub'],
  ])('refuses %j, naming %s', (extra, path) => {
    const r = validateTrailConfig({ ...multiAccountInput, ...extra }, CENTRAL);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toContain(path);
  });

  it('leaves the key out when absent (the construct applies the defaults)', () => {
    const r = validateTrailConfig(multiAccountInput, CENTRAL);
    expect(r.ok && r.value.alertRouting).toBeUndefined();
  });
});
