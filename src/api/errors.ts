/**
 * The one error type of the API. Anything thrown while serving a request ends up
 * as a Kubernetes `Status` object through `toStatus`, in the app's single onError.
 */

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Expired"
  | "Invalid"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "RequestEntityTooLarge"
  | "TooManyRequests"
  | "ServiceUnavailable"
  | "Timeout"
  | "InternalError";

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message: string;
  reason: StatusReason | "";
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** What a resource is called in messages: "deployments.apps" or "pods". */
export interface Subject {
  group: string;
  plural: string;
  kind?: string;
}

const qualified = (s: Subject) => (s.group ? `${s.plural}.${s.group}` : s.plural);

export const badRequest = (message: string, causes?: StatusCause[]) =>
  new ApiError(400, "BadRequest", message, causes ? { causes } : undefined);

export const unauthorized = (message = "Unauthorized") => new ApiError(401, "Unauthorized", message);

export const forbidden = (message: string) => new ApiError(403, "Forbidden", message);

export const notFound = (s: Subject, name: string) =>
  new ApiError(404, "NotFound", `${qualified(s)} "${name}" not found`, {
    name,
    group: s.group,
    kind: s.plural,
  });

export const pathNotFound = (message = "the server could not find the requested resource") =>
  new ApiError(404, "NotFound", message);

export const alreadyExists = (s: Subject, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualified(s)} "${name}" already exists`, {
    name,
    group: s.group,
    kind: s.plural,
  });

export const conflict = (s: Subject, name: string, why: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(s)} "${name}": ${why}`,
    { name, group: s.group, kind: s.plural },
  );

const STALE_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again";

export const staleObject = (s: Subject, name: string) => conflict(s, name, STALE_MESSAGE);

/** A write that lost its compare-and-swap to another (not a failed precondition). */
export const isStaleObject = (e: unknown) => e instanceof ApiError && e.code === 409 && e.message.endsWith(`: ${STALE_MESSAGE}`);

export const gone = (message: string) => new ApiError(410, "Expired", message);

export const invalid = (s: Subject, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    "Invalid",
    `${s.kind ?? s.plural} "${name}" is invalid: ${causes
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
      .join(", ")}`,
    { name, group: s.group, kind: s.kind ?? s.plural, causes },
  );

export const methodNotAllowed = (message: string) => new ApiError(405, "MethodNotAllowed", message);

export const notAcceptable = (message: string) => new ApiError(406, "NotAcceptable", message);

export const unsupportedMediaType = (message: string) =>
  new ApiError(415, "UnsupportedMediaType", message);

export const tooLarge = (message: string) => new ApiError(413, "RequestEntityTooLarge", message);

export const tooManyRequests = (message: string, retryAfterSeconds = 1) =>
  new ApiError(429, "TooManyRequests", message, { retryAfterSeconds });

export const unavailable = (message: string, retryAfterSeconds?: number) =>
  new ApiError(503, "ServiceUnavailable", message, retryAfterSeconds ? { retryAfterSeconds } : undefined);

/** Maps anything thrown to a Status. Unknown errors are logged (without request data) and become 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  console.error("internal error:", err instanceof Error ? (err.stack ?? err.message) : String(err));
  return new ApiError(500, "InternalError", "an internal error occurred; see the server log");
}

/** A Status for a successful delete or similar (`status: Success`). */
export function successStatus(details?: StatusDetails): Omit<Status, "message" | "reason" | "code"> & {
  details?: StatusDetails;
} {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", ...(details ? { details } : {}) };
}
