// PLACEHOLDER so cdk/ can bundle this entry while the real handler is written (issue 3/5/6).
export const handler = async (): Promise<never> => {
  throw new Error('posture-report: not implemented yet');
};
