/**
 * AWS JSON 1.1 errors. The SDK turns `{"__type": name, "message": ...}` into an exception whose `name` is
 * that `__type`, so the names here are the contract with callers: keep them exactly as AWS spells them.
 *
 * Messages never carry secret values, only names, version ids and parameter names: log-grepping canary
 * tests rely on that.
 */

export class ServiceError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = status;
  }
}

export const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";

export function resourceNotFound(message: string = SECRET_NOT_FOUND): ServiceError {
  return new ServiceError('ResourceNotFoundException', message);
}

export function invalidParameter(message: string): ServiceError {
  return new ServiceError('InvalidParameterException', message);
}

export function invalidRequest(message: string): ServiceError {
  return new ServiceError('InvalidRequestException', message);
}

export function resourceExists(message: string): ServiceError {
  return new ServiceError('ResourceExistsException', message);
}

export function limitExceeded(message: string): ServiceError {
  return new ServiceError('LimitExceededException', message);
}

/** Model-level constraint violations (length, pattern, missing required member), as AWS's front end reports them. */
export function validation(message: string): ServiceError {
  return new ServiceError('ValidationException', message);
}

/** The body is not a JSON object of the expected shape. */
export function serialization(message: string): ServiceError {
  return new ServiceError('SerializationException', message);
}

export function unknownOperation(): ServiceError {
  return new ServiceError('UnknownOperationException', 'The requested operation is not supported.');
}

export function accessDenied(userArn: string, action: string, resource: string): ServiceError {
  return new ServiceError(
    'AccessDeniedException',
    `User: ${userArn} is not authorized to perform: secretsmanager:${action} on resource: ${resource} ` +
      `because no identity-based policy allows the secretsmanager:${action} action`,
  );
}

export function throttling(): ServiceError {
  return new ServiceError('ThrottlingException', 'Rate exceeded');
}

export function internalServiceError(): ServiceError {
  return new ServiceError('InternalServiceError', 'An error occurred on the server side.', 500);
}

export function missingAuthenticationToken(): ServiceError {
  return new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
}

export function incompleteSignature(message: string): ServiceError {
  return new ServiceError('IncompleteSignatureException', message);
}

export function unrecognizedClient(): ServiceError {
  return new ServiceError('UnrecognizedClientException', 'The security token included in the request is invalid.');
}

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export function invalidSignature(message: string = SIGNATURE_MISMATCH): ServiceError {
  return new ServiceError('InvalidSignatureException', message);
}
