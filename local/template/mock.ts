import type { MockIntegration } from '../gateway/types.js';
import { referencesOfType } from './references.js';
import { unsupportedValue } from './support.js';
import type { CfnTemplate } from './types.js';

type Props = Record<string, unknown>;

/** Velocity references and directives: templates with them would need a VTL engine, which the runtime has not. */
const VTL = /\$[!{A-Za-z]|#(?:set|if|elseif|else|end|foreach|macro|parse|include|define|evaluate|break|stop)\b/;

/**
 * A MOCK integration (`IntegrationType: MOCK`) as the local gateway answers it. Only static templates run locally:
 * the templates are chosen by a literal selection expression (`\$default`, or none) and hold no VTL, so the whole
 * answer is known at start-up; anything else is refused here, naming the resource and property.
 */
export function mockIntegration(logicalId: string, props: Props, template: CfnTemplate): MockIntegration {
  const requestTemplate = chosen(logicalId, props, 'RequestTemplates', template);
  if (requestTemplate === undefined)
    throw unsupportedValue(
      logicalId,
      template,
      'RequestTemplates',
      'a MOCK integration needs a request template giving its statusCode, e.g. {"statusCode": 200}',
    );
  const responses = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::IntegrationResponse')
    .filter(
      ([, r]) =>
        referencesOfType(template, r.Properties?.IntegrationId, 'AWS::ApiGatewayV2::Integration')[0] === logicalId,
    )
    .map(([id, r]) => ({
      key: String(r.Properties?.IntegrationResponseKey),
      body: chosen(id, r.Properties ?? {}, 'ResponseTemplates', template),
    }));
  return { statusCode: statusOf(requestTemplate), responses };
}

/** The template a literal selection expression picks, falling back to `$default`; undefined when there is none. */
function chosen(logicalId: string, props: Props, property: string, template: CfnTemplate): string | undefined {
  const templates = (props[property] ?? {}) as Record<string, unknown>;
  const expression = props.TemplateSelectionExpression;
  let key = '$default';
  if (expression !== undefined) {
    const text = String(expression);
    // `\$` is API Gateway's escape for a literal `$`; an unescaped one starts a runtime expression.
    if (/(^|[^\\])\$/.test(text))
      throw unsupportedValue(
        logicalId,
        template,
        'TemplateSelectionExpression',
        'only a literal (e.g. \\$default) runs locally',
      );
    key = text.replaceAll('\\$', '$');
  }
  const body = templates[key] ?? templates.$default;
  if (body === undefined) return undefined;
  if (typeof body !== 'string' || VTL.test(body))
    throw unsupportedValue(logicalId, template, property, 'only static templates (no VTL) run locally');
  return body;
}

/** The status a mock's request template gives: `{"statusCode": <integer>}`. */
function statusOf(requestTemplate: string): number | undefined {
  try {
    const status = (JSON.parse(requestTemplate) as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
  } catch {
    return undefined;
  }
}
