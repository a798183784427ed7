/** A service the runtime started (or found, for LocalStack): where the SDK reaches it and how to stop it. */
export interface Service {
  endpoint: string;
  stop(): Promise<void>;
}
