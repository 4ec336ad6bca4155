/**
 * The `alertRouting` key of the deployment configuration (docs/deploy.md, docs/alert-events.md):
 * where alerts go besides the SNS topic. Pure, like the rest of cdk/config.ts.
 */
export interface AlertRoutingSettings {
  /**
   * EventBridge bus of the central account and region every alert is put on. Default `default`, the
   * bus GuardDuty and Security Hub findings arrive on, so the same rules can route both.
   */
  eventBusName: string;
  /** Also import each alert into Security Hub as an ASFF finding (the account's default product). */
  securityHub: boolean;
}

export const DEFAULT_ALERT_ROUTING: AlertRoutingSettings = { eventBusName: 'default', securityHub: false };

const KEYS = new Set(['eventBusName', 'securityHub']);
// EventBridge: 1-256 of letters, digits, . - _ (a partner bus's `/` is not for our own events).
const BUS_NAME_RE = /^[.\-_A-Za-z0-9]{1,256}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Undefined when the key is absent (the defaults apply); every problem reported through `bad`. */
export function validateAlertRouting(
  input: unknown,
  bad: (path: string, message: string) => void,
): AlertRoutingSettings | undefined {
  if (input === undefined) return undefined;
  if (!isRecord(input)) {
    bad('alertRouting', 'must be an object {eventBusName?, securityHub?}');
    return undefined;
  }
  for (const k of Object.keys(input)) if (!KEYS.has(k)) bad(`alertRouting.${k}`, 'unknown key');
  const out: AlertRoutingSettings = { ...DEFAULT_ALERT_ROUTING };
  if (input.eventBusName !== undefined) {
    if (typeof input.eventBusName === 'string' && BUS_NAME_RE.test(input.eventBusName))
      out.eventBusName = input.eventBusName;
    else bad('alertRouting.eventBusName', `must be an EventBridge bus name, got ${JSON.stringify(input.eventBusName)}`);
  }
  if (input.securityHub !== undefined) {
    if (typeof input.securityHub === 'boolean') out.securityHub = input.securityHub;
    else bad('alertRouting.securityHub', 'must be true or false');
  }
  return out;
}
