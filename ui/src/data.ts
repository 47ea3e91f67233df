// The structured content of the server's tools, as the view reads it. Fields the server may add later are ignored;
// the guards check only what the view relies on.

export type JobStatus = "DEPLOYING" | "DEPLOYED" | "MATCHED" | "INACTIVE" | "DELETED";
export type GatewayStatus = "serving" | "no_job_matched_yet" | "active_job_deleted" | "active_job_not_matched";

export interface JobView {
  job_uuid: string;
  name: string;
  status: JobStatus;
  script_cid: string;
  slots: number;
  onchain_job_id: number | null;
  serves_gateway: boolean;
  created: string | null;
}

export interface FunctionListItem {
  function_uuid: string;
  name: string;
  description: string | null;
  has_matched_job: boolean;
  created: string | null;
}

export interface FunctionList {
  functions: FunctionListItem[];
  total: number;
  page: number;
  limit: number;
  next_page: number | null;
}

export interface FunctionDetails {
  function_uuid: string;
  name: string;
  description: string | null;
  gateway_url: string | null;
  gateway_status: GatewayStatus;
  active_job_uuid: string | null;
  jobs: JobView[];
  jobs_page: number;
  jobs_limit: number;
  more_jobs: boolean;
}

export interface SpendingCap {
  limit: number;
  spent: number;
  remaining: number;
}

export interface CreditBalance {
  balance: number;
  jobs_affordable: number;
  /** Absent on servers that have no spending cap setting; null when the cap is off. */
  spending_cap?: SpendingCap | null;
}

export interface Invocation {
  function_uuid: string;
  status: number;
  reply: string;
  truncated: boolean;
  latency_ms: number;
}

export interface CreatedJob {
  function_uuid: string;
  job: JobView;
  credits_spent: number | null;
  credit_balance: number | null;
}

export interface DeletedJob {
  job_uuid: string;
  name: string;
  served_gateway: boolean | null;
}

type Guard<T> = (value: unknown) => value is T;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isOptionalString = (value: unknown): boolean => value === null || value === undefined || isString(value);

export const isJob: Guard<JobView> = (value): value is JobView =>
  isObject(value) &&
  isString(value.job_uuid) &&
  isString(value.name) &&
  isString(value.status) &&
  isString(value.script_cid) &&
  typeof value.serves_gateway === "boolean" &&
  isOptionalString(value.created);

export const isFunctionList: Guard<FunctionList> = (value): value is FunctionList =>
  isObject(value) &&
  Array.isArray(value.functions) &&
  value.functions.every((f) => isObject(f) && isString(f.function_uuid) && isString(f.name)) &&
  isNumber(value.total) &&
  isNumber(value.page);

export const isFunctionDetails: Guard<FunctionDetails> = (value): value is FunctionDetails =>
  isObject(value) &&
  isString(value.function_uuid) &&
  isString(value.name) &&
  isString(value.gateway_status) &&
  Array.isArray(value.jobs) &&
  value.jobs.every(isJob) &&
  isNumber(value.jobs_page);

export const isSpendingCap: Guard<SpendingCap> = (value): value is SpendingCap =>
  isObject(value) && isNumber(value.limit) && isNumber(value.spent) && isNumber(value.remaining);

export const isCreditBalance: Guard<CreditBalance> = (value): value is CreditBalance =>
  isObject(value) &&
  isNumber(value.balance) &&
  (value.spending_cap === undefined || value.spending_cap === null || isSpendingCap(value.spending_cap));

export const isInvocation: Guard<Invocation> = (value): value is Invocation =>
  isObject(value) && isNumber(value.status) && isString(value.reply) && typeof value.truncated === "boolean";

export const isCreatedJob: Guard<CreatedJob> = (value): value is CreatedJob =>
  isObject(value) && isString(value.function_uuid) && isJob(value.job);

export const isDeletedJob: Guard<DeletedJob> = (value): value is DeletedJob =>
  isObject(value) && isString(value.job_uuid) && isString(value.name);

/** Any object: for a result the view only reads the text of. */
export const isAnything: Guard<Record<string, unknown>> = (value): value is Record<string, unknown> => isObject(value);

export const PENDING_STATUSES: readonly string[] = ["DEPLOYING", "DEPLOYED"];

export function hasPendingJobs(details: FunctionDetails): boolean {
  return details.jobs.some((job) => PENDING_STATUSES.includes(job.status));
}
