// How values read: times, numbers, statuses.

import type { GatewayStatus } from "./data.js";

export interface Locale {
  locale?: string | undefined;
  timeZone?: string | undefined;
}

export function time(iso: string | null, where: Locale): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return date.toLocaleString(where.locale, { timeZone: where.timeZone, dateStyle: "medium", timeStyle: "medium" });
  } catch {
    return date.toISOString();
  }
}

export function clock(date: Date, where: Locale): string {
  try {
    return date.toLocaleTimeString(where.locale, { timeZone: where.timeZone });
  } catch {
    return date.toISOString().slice(11, 19);
  }
}

export function count(value: number, noun: string): string {
  return `${value.toLocaleString("en-US")} ${noun}${value === 1 ? "" : "s"}`;
}

export function credits(value: number): string {
  return count(value, "credit");
}

interface Badge {
  label: string;
  tone: "ok" | "wait" | "bad" | "idle";
}

const GATEWAY: Record<GatewayStatus, Badge> = {
  serving: { label: "Serving", tone: "ok" },
  no_job_matched_yet: { label: "No job matched yet", tone: "idle" },
  active_job_deleted: { label: "Not serving: active job deleted", tone: "bad" },
  active_job_not_matched: { label: "Not serving: active job not matched", tone: "bad" },
};

export function gatewayBadge(status: string, deploying: boolean): Badge {
  const known = GATEWAY[status as GatewayStatus] ?? { label: status, tone: "idle" };
  if (deploying && status !== "serving") return { label: `${known.label}; deploying`, tone: "wait" };
  return known;
}

const JOB: Record<string, Badge["tone"]> = {
  MATCHED: "ok",
  DEPLOYING: "wait",
  DEPLOYED: "wait",
  INACTIVE: "idle",
  DELETED: "bad",
};

export function jobTone(status: string): Badge["tone"] {
  return JOB[status] ?? "idle";
}
