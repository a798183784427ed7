/** A service the runtime started (or found, for LocalStack): where the SDK reaches it and how to stop it. */
export interface Service {
  endpoint: string;
  stop(): Promise<void>;
}

/** One request an embedded service answered: the service, the AWS operation (from X-Amz-Target) and its JSON body. */
export interface ObservedRequest {
  service: 'sqs' | 'dynamodb';
  operation: string;
  body: string;
}

export type RequestObserver = (request: ObservedRequest) => void;
