// Drawing the state: the header with credits, the functions list, the selected function with its jobs, and the
// question the user must answer before an action runs. Every API string goes in as text.

import { type CreditBalance, type FunctionDetails, type JobView, hasPendingJobs } from "./data.js";
import { type Child, button, h } from "./dom.js";
import { type Locale, clock, count, credits, gatewayBadge, jobTone, time } from "./format.js";
import type { Prompt, State } from "./state.js";

export interface Actions {
  refresh(): void;
  select(functionUuid: string): void;
  listPage(page: number): void;
  jobsPage(page: number): void;
  askDelete(job: JobView): void;
  askRollback(job: JobView): void;
  confirm(): void;
  cancelPrompt(): void;
}

export const POLL_SECONDS = 3;

function badge(label: string, tone: string, testid?: string): HTMLElement {
  return h("span", { class: `badge ${tone}`, attrs: testid ? { "data-testid": testid } : {} }, label);
}

function failure(text: string, retry: () => void): HTMLElement {
  return h(
    "div",
    { class: "state error", attrs: { role: "alert", "data-testid": "error" } },
    h("p", { class: "pre" }, text),
    button("Try again", retry),
  );
}

export function header(state: State, actions: Actions, where: Locale): Child[] {
  const refreshed = state.refreshedAt ? `Updated ${clock(state.refreshedAt, where)}` : "";
  return [
    h("div", { class: "title" }, h("h1", {}, "Cloud Functions"), h("span", { class: "muted" }, "Apillon")),
    credit(state),
    h(
      "div",
      { class: "toolbar" },
      state.polling ? badge(`Deploying: refreshing every ${POLL_SECONDS} s`, "wait", "polling") : null,
      h("span", { class: "muted", attrs: { "data-testid": "refreshed" } }, refreshed),
      button("Refresh", actions.refresh, { testid: "refresh" }),
    ),
  ];
}

function credit(state: State): HTMLElement {
  const { data, error } = state.balance;
  if (!data) {
    const text = error ? "Credits: unavailable" : "Credits: …";
    return h("div", { class: "credits muted", title: error ?? "", attrs: { "data-testid": "credits" } }, text);
  }
  return h(
    "div",
    { class: "credits", attrs: { "data-testid": "credits" } },
    h("strong", { attrs: { "data-testid": "balance" } }, credits(data.balance)),
    h("span", { class: "muted" }, ` · enough for ${count(data.jobs_affordable, "job")}`),
    cap(data),
  );
}

function cap(data: CreditBalance): HTMLElement | null {
  const limit = data.spending_cap;
  if (!limit) return null;
  const tone = limit.remaining <= 0 ? "bad" : "idle";
  const label = `Spending cap: ${limit.spent} of ${limit.limit} credits used, ${limit.remaining} left`;
  return badge(label, tone, "spending-cap");
}

export function functions(state: State, actions: Actions, where: Locale): Child[] {
  const { data, error, loading } = state.list;
  const heading = h("h2", {}, data ? `Functions (${data.total})` : "Functions");
  if (error && !data) return [heading, failure(error, actions.refresh)];
  if (!data)
    return [heading, h("p", { class: "muted state" }, loading ? "Loading functions…" : "Waiting for the tool result…")];
  if (data.total === 0) {
    return [
      heading,
      h(
        "div",
        { class: "state empty", attrs: { "data-testid": "empty" } },
        h("p", {}, "No cloud functions yet."),
        h("p", { class: "muted" }, "Ask the assistant to deploy one: it writes the script, tests it and deploys it."),
      ),
    ];
  }
  const rows = data.functions.map((fn) => {
    const status = state.statuses.get(fn.function_uuid);
    const selected = fn.function_uuid === state.selected;
    const label =
      status === undefined
        ? badge("…", "idle")
        : status === "unknown"
          ? badge("Status unknown", "idle")
          : statusBadge(status.gateway, status.deploying);
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: `row${selected ? " selected" : ""}`,
          attrs: {
            type: "button",
            "data-testid": "function",
            "data-uuid": fn.function_uuid,
            "aria-pressed": String(selected),
          },
          onClick: () => actions.select(fn.function_uuid),
        },
        h("span", { class: "name" }, fn.name),
        label,
        h("span", { class: "muted small" }, `created ${time(fn.created, where)}`),
      ),
    );
  });
  const first = (data.page - 1) * data.limit;
  const pager =
    data.page > 1 || data.next_page !== null
      ? h(
          "div",
          { class: "pager" },
          button("Previous", () => actions.listPage(data.page - 1), { disabled: data.page <= 1 }),
          h("span", { class: "muted" }, `${first + 1}–${first + data.functions.length} of ${data.total}`),
          button("Next", () => actions.listPage(data.next_page ?? data.page), { disabled: data.next_page === null }),
        )
      : null;
  return [
    heading,
    error ? h("p", { class: "pre error-text" }, error) : null,
    h("ul", { class: "functions" }, ...rows),
    pager,
  ];
}

function statusBadge(gateway: string, deploying: boolean): HTMLElement {
  const { label, tone } = gatewayBadge(gateway, deploying);
  return badge(label, tone, "gateway-status");
}

export function details(state: State, actions: Actions, where: Locale): Child[] {
  const { data, error, loading } = state.details;
  if (!state.selected) {
    return [
      h(
        "p",
        { class: "muted state", attrs: { "data-testid": "no-selection" } },
        "Select a function to see its jobs and call its gateway.",
      ),
    ];
  }
  if (error && !data) return [failure(error, actions.refresh)];
  if (!data) return [h("p", { class: "muted state" }, loading ? "Loading the function…" : "")];
  return [
    h("h2", { attrs: { "data-testid": "function-name" } }, data.name),
    data.description ? h("p", { class: "muted" }, data.description) : null,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "uuid"),
      h("dd", { class: "mono", attrs: { "data-testid": "function-uuid" } }, data.function_uuid),
      h("dt", {}, "Gateway"),
      h("dd", {}, statusBadge(data.gateway_status, hasPendingJobs(data))),
      h("dt", {}, "Gateway URL"),
      h("dd", { class: "mono" }, data.gateway_url ?? "—"),
    ),
    error ? h("p", { class: "pre error-text", attrs: { role: "alert" } }, error) : null,
    state.prompt ? prompt(state.prompt, state, actions) : null,
    jobs(data, state, actions, where),
  ];
}

function jobs(data: FunctionDetails, state: State, actions: Actions, where: Locale): Child {
  if (data.jobs.length === 0) {
    return h(
      "div",
      { class: "state empty", attrs: { "data-testid": "no-jobs" } },
      h("p", {}, data.jobs_page > 1 ? `No jobs on page ${data.jobs_page}.` : "No jobs yet."),
      h("p", { class: "muted" }, "A job runs one script for this function; creating one spends credits."),
      data.jobs_page > 1 ? button("First page", () => actions.jobsPage(1)) : null,
    );
  }
  const serving = data.jobs.find((job) => job.serves_gateway);
  const rows = data.jobs.map((job) =>
    h(
      "tr",
      { class: job.serves_gateway ? "serving" : "", attrs: { "data-testid": "job", "data-uuid": job.job_uuid } },
      h(
        "td",
        {},
        h("div", { class: "name" }, job.name),
        h("div", { class: "mono small muted" }, job.job_uuid),
        job.serves_gateway ? badge("Serves the gateway", "ok", "serves") : null,
      ),
      h("td", {}, badge(job.status, jobTone(job.status), "job-status")),
      h("td", { class: "mono cid", attrs: { "data-testid": "job-cid" } }, job.script_cid),
      h("td", { class: "small" }, time(job.created, where)),
      h("td", {}, h("div", { class: "job-actions" }, ...jobButtons(job, serving, state, actions))),
    ),
  );
  const pager =
    data.jobs_page > 1 || data.more_jobs
      ? h(
          "div",
          { class: "pager" },
          button("Previous jobs", () => actions.jobsPage(data.jobs_page - 1), { disabled: data.jobs_page <= 1 }),
          h("span", { class: "muted" }, `page ${data.jobs_page}`),
          button("More jobs", () => actions.jobsPage(data.jobs_page + 1), { disabled: !data.more_jobs }),
        )
      : null;
  return h(
    "div",
    {},
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "jobs", attrs: { "data-testid": "jobs" } },
        h(
          "thead",
          {},
          h("tr", {}, ...["Job", "Status", "Script CID", "Created", ""].map((label) => h("th", {}, label))),
        ),
        h("tbody", {}, ...rows),
      ),
    ),
    pager,
  );
}

function jobButtons(job: JobView, serving: JobView | undefined, state: State, actions: Actions): Child[] {
  const disabled = state.busy || state.prompt !== null;
  // A job that is deploying will serve soon anyway; one that serves, or runs the serving script, is no rollback.
  const canRollBack =
    !state.unavailable.has("create_cloud_function_job") &&
    (job.status === "INACTIVE" || job.status === "MATCHED") &&
    !job.serves_gateway &&
    job.script_cid !== serving?.script_cid;
  const canDelete = !state.unavailable.has("delete_cloud_function_job");
  return [
    canRollBack
      ? button(serving ? "Roll back" : "Redeploy", () => actions.askRollback(job), {
          kind: "secondary",
          disabled,
          testid: "rollback",
          title: "Create a new job that runs this job's script",
        })
      : null,
    canDelete ? button("Delete", () => actions.askDelete(job), { kind: "danger", disabled, testid: "delete" }) : null,
  ];
}

function prompt(question: Prompt, state: State, actions: Actions): HTMLElement {
  if (question.kind === "delete") {
    return h(
      "div",
      { class: "prompt", attrs: { role: "alertdialog", "aria-label": "Confirm deletion", "data-testid": "confirm" } },
      h("h3", {}, "Confirm deletion"),
      h("p", { class: "pre", attrs: { "data-testid": "confirm-text" } }, question.question),
      h("p", { class: "muted" }, "Nothing has been deleted yet."),
      h(
        "div",
        { class: "buttons" },
        button("Delete job", actions.confirm, { kind: "danger", disabled: state.busy, testid: "confirm-yes" }),
        button("Keep it", actions.cancelPrompt, { disabled: state.busy, testid: "confirm-no" }),
      ),
    );
  }
  return h(
    "div",
    { class: "prompt", attrs: { role: "alertdialog", "aria-label": "Confirm roll back", "data-testid": "confirm" } },
    h("h3", {}, "Create a job from this script"),
    h(
      "p",
      { attrs: { "data-testid": "confirm-text" } },
      "A new job will run script ",
      h("span", { class: "mono" }, question.job.script_cid),
      ` (from job "${question.job.name}"). Creating a job spends credits` +
        (state.balance.data ? ` (balance ${credits(state.balance.data.balance)})` : "") +
        ". When it reaches MATCHED, in a few minutes, it takes over the gateway.",
    ),
    h(
      "p",
      { class: "muted" },
      "New job name: ",
      h("span", { attrs: { "data-testid": "rollback-name" } }, question.name),
    ),
    h(
      "div",
      { class: "buttons" },
      button("Create job", actions.confirm, { kind: "primary", disabled: state.busy, testid: "confirm-yes" }),
      button("Cancel", actions.cancelPrompt, { disabled: state.busy, testid: "confirm-no" }),
    ),
  );
}

export function notice(state: State): Child[] {
  if (!state.notice) return [];
  return [
    h(
      "div",
      { class: `notice ${state.notice.tone}`, attrs: { role: "status", "data-testid": "notice" } },
      h("p", { class: "pre" }, state.notice.text),
    ),
  ];
}
