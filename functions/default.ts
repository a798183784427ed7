// Placeholder so the stack can bundle every entry while the handler is being written.
export const handler = async (): Promise<never> => {
  throw new Error('default: not implemented yet');
};
