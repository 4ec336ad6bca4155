import type { DecisionChain } from './types.js';

/**
 * The value of each link of a chain (undefined where the link has none), for the readers that render
 * every link: rows, explanations and exports.
 */
export const linkValues = (chain: DecisionChain) => ({
  principal: chain.principal.value,
  human: chain.human.value,
  mapping: chain.mapping.value,
  k8sIdentity: chain.k8sIdentity.value,
  decision: chain.decision.value,
  request: chain.request.value,
});
