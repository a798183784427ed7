/**
 * A resource type, property or intrinsic the local runtime cannot reproduce. Raised at start-up, before anything
 * runs, in the spirit of the construct library's synth-time validation: better to refuse than to behave unlike AWS.
 */
export class UnsupportedResourceError extends Error {
  override readonly name = 'UnsupportedResourceError';

  constructor(
    /** `Metadata["aws:cdk:path"]`, or the logical id when the template has no metadata. */
    readonly resourcePath: string,
    readonly resourceType: string,
    readonly property: string | undefined,
    detail: string,
  ) {
    super(`${resourcePath} (${resourceType}${property ? `, property ${property}` : ''}): ${detail}`);
  }
}

/** The cloud assembly or template cannot be read (missing cdk.out, unknown stack, missing asset). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}
