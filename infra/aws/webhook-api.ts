import { Duration } from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PipelineLimits } from '../limits.ts';
import { CrossdockFunction } from './function.ts';

/** The HTTP API registries call: `POST /webhooks/{source}`, and `GET /health`. */
export class WebhookApi extends Construct {
  readonly api: HttpApi;
  readonly webhookFunction: CrossdockFunction;
  readonly healthFunction: CrossdockFunction;

  constructor(
    scope: Construct,
    id: string,
    props: {
      environment: Record<string, string>;
      throttle: { rate: number; burst: number };
      pipeline: PipelineLimits;
    },
  ) {
    super(scope, id);
    this.webhookFunction = new CrossdockFunction(this, 'Webhook', {
      entry: 'functions/webhook/handler',
      description: 'Verifies registry webhooks, matches policies, records and enqueues jobs',
      environment: props.environment,
      timeout: Duration.seconds(props.pipeline.functions.webhook.timeoutSeconds),
    });
    this.healthFunction = new CrossdockFunction(this, 'Health', {
      entry: 'functions/health/handler',
      description: 'GET /health: 200 when the stores answer',
      environment: props.environment,
      timeout: Duration.seconds(props.pipeline.functions.health.timeoutSeconds),
    });
    this.api = new HttpApi(this, 'Api', { description: 'crossdock webhooks' });
    this.api.addRoutes({
      path: '/webhooks/{source}',
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('WebhookIntegration', this.webhookFunction),
    });
    this.api.addRoutes({
      path: '/health',
      methods: [HttpMethod.GET],
      integration: new HttpLambdaIntegration('HealthIntegration', this.healthFunction),
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    const stage = this.api.defaultStage?.node.defaultChild as CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      // No query strings in the log: a sender that cannot set headers puts its secret there.
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latency: '$context.responseLatency',
      }),
    };
    stage.defaultRouteSettings = {
      throttlingRateLimit: props.throttle.rate,
      throttlingBurstLimit: props.throttle.burst,
    };
  }
}
