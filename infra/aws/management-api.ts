import { Duration } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { PipelineLimits } from '../limits.ts';
import { CrossdockFunction } from './function.ts';

export interface ManagementApiProps {
  api: HttpApi;
  environment: Record<string, string>;
  pipeline: PipelineLimits;
  vpc?: IVpc | undefined;
}

/**
 * `/api/*` on the same HTTP API as the webhooks: registries, sources, policies and jobs
 * (functions/api), behind a Lambda authorizer that checks the bearer token kept in Secrets
 * Manager, and the scan function the API invokes asynchronously when a policy is enabled.
 */
export class ManagementApi extends Construct {
  readonly apiFunction: CrossdockFunction;
  readonly scanFunction: CrossdockFunction;
  readonly authorizerFunction: CrossdockFunction;
  readonly token: Secret;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    this.token = new Secret(this, 'Token', {
      secretName: 'crossdock/api-token',
      description: 'Bearer token of the crossdock management API (crossdock --token, CROSSDOCK_API_TOKEN)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    this.authorizerFunction = new CrossdockFunction(this, 'Authorizer', {
      entry: 'functions/authorizer/handler',
      description: 'Checks the management API bearer token against the secret',
      environment: { API_TOKEN_SECRET: this.token.secretName },
      timeout: Duration.seconds(props.pipeline.functions.authorizer.timeoutSeconds),
    });
    this.token.grantRead(this.authorizerFunction);

    this.scanFunction = new CrossdockFunction(this, 'Scan', {
      entry: 'functions/scan/handler',
      description: 'Lists what an enabled policy covers, page by page, and submits its jobs',
      environment: props.environment,
      timeout: Duration.seconds(props.pipeline.functions.scan.timeoutSeconds),
      vpc: props.vpc,
    });
    this.apiFunction = new CrossdockFunction(this, 'Api', {
      entry: 'functions/api/handler',
      description: 'The management API: registries, sources, policies, jobs',
      environment: { ...props.environment, SCAN_FUNCTION_NAME: this.scanFunction.functionName },
      timeout: Duration.seconds(props.pipeline.functions.api.timeoutSeconds),
    });
    this.scanFunction.grantInvoke(this.apiFunction);

    const authorizer = new HttpLambdaAuthorizer('ApiToken', this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.minutes(5),
    });
    props.api.addRoutes({
      path: '/api/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration('ApiIntegration', this.apiFunction),
      authorizer,
    });
  }
}
