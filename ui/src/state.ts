// What the dashboard shows, as data: the controller changes it, the renderers draw it.

import type { CreditBalance, FunctionDetails, FunctionList, GatewayStatus, JobView } from "./data.js";

export interface Section<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

export function section<T>(): Section<T> {
  return { data: null, error: null, loading: false };
}

export interface FunctionStatus {
  gateway: GatewayStatus;
  deploying: boolean;
}

/** A question the user answers with a click before anything changes. */
export type Prompt =
  { kind: "delete"; job: JobView; question: string; token: string } | { kind: "rollback"; job: JobView; name: string };

export interface Notice {
  tone: "ok" | "bad";
  text: string;
}

export interface State {
  /** Until the host sends the result of the tool call that opened the view. */
  phase: "waiting" | "ready" | "cancelled";
  list: Section<FunctionList>;
  statuses: Map<string, FunctionStatus | "unknown">;
  selected: string | null;
  details: Section<FunctionDetails>;
  balance: Section<CreditBalance>;
  prompt: Prompt | null;
  notice: Notice | null;
  /** An action (delete, rollback) is under way: its buttons are disabled. */
  busy: boolean;
  polling: boolean;
  refreshedAt: Date | null;
  /** Tools this server does not offer (a read-only server, or a selection of tools): their buttons are hidden. */
  unavailable: Set<string>;
}

export function initialState(): State {
  return {
    phase: "waiting",
    list: section(),
    statuses: new Map(),
    selected: null,
    details: section(),
    balance: section(),
    prompt: null,
    notice: null,
    busy: false,
    polling: false,
    refreshedAt: null,
    unavailable: new Set(),
  };
}
