import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../lib/canonical-json.js';
import {
  type ChainRecord,
  fromRecord,
  joinChains,
  type MergedChain,
  stageRank,
} from '../../../lib/chain/stage-merge.js';
import type { Link, MappingLink } from '../../../lib/chain/types.js';
import { chainFromEvent, pantherEvents, variant } from '../../support/factories.js';

const [started] = pantherEvents();
const stages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;

/** Records of ONE request: any stage, any mix of known / unknown links. */
const recordArb: fc.Arbitrary<ChainRecord> = fc
  .record({
    stage: fc.constantFrom(...stages),
    human: fc.option(fc.constantFrom('alice@example.com', 'bob@example.com'), { nil: undefined }),
    mappingKnown: fc.boolean(),
    pending: fc.boolean(),
  })
  .map(({ stage, human, mappingKnown, pending }) => {
    const rec = chainFromEvent(variant(started!, { auditID: started!.auditID, stage }), {
      cluster: 'prod',
      accountId: '111122223333',
      ...(human ? { human } : {}),
      pendingEnrichment: pending,
    });
    if (mappingKnown) {
      rec.chain.mapping = {
        status: 'derived',
        value: { source: 'access-entry' },
        why: 'entry',
        evidence: ['t'],
      } satisfies Link<MappingLink>;
    }
    return rec;
  });

const same = (a: MergedChain, b: MergedChain) => expect(canonicalJson(a)).toBe(canonicalJson(b));

describe('joinChains', () => {
  it('is commutative, associative and idempotent, so arrival order and redelivery never matter', () => {
    fc.assert(
      fc.property(recordArb, recordArb, recordArb, (x, y, z) => {
        const [a, b, c] = [fromRecord(x), fromRecord(y), fromRecord(z)];
        same(joinChains(a, b), joinChains(b, a));
        same(joinChains(joinChains(a, b), c), joinChains(a, joinChains(b, c)));
        const ab = joinChains(a, b);
        same(joinChains(ab, a), ab);
        same(joinChains(ab, b), ab);
      }),
    );
  });

  it('takes facts from the latest stage and a known link over an unknown one from any stage', () => {
    const early = chainFromEvent(started!, { cluster: 'prod', accountId: '1', human: 'alice@example.com' });
    const late = chainFromEvent(variant(started!, { auditID: started!.auditID, stage: 'ResponseComplete' }), {
      cluster: 'prod',
      accountId: '1',
    });
    const merged = joinChains(fromRecord(late), fromRecord(early));
    expect(merged.facts.event.stage).toBe('ResponseComplete');
    expect(merged.chain.human.value?.identity).toBe('alice@example.com');
    expect(merged.chain.request.value?.stage).toBe('ResponseComplete');
    expect(merged.chain.pendingEnrichment).toBe(false);
  });

  it.each([
    ['RequestReceived', 1],
    ['ResponseStarted', 2],
    ['Panic', 3],
    ['ResponseComplete', 4],
    ['SomethingNew', 0],
  ])('ranks stage %s as %i', (stage, rank) => {
    expect(stageRank(chainFromEvent(variant(started!, { auditID: 'x', stage }), {}))).toBe(rank);
  });
});
