// The controller: loads data through the server's tools, runs the user's actions through the same tools (and so
// through the same confirmation), and redraws.

import type { App } from "@modelcontextprotocol/ext-apps";
import { GatewayConsole } from "./console.js";
import {
  type CreatedJob,
  type DeletedJob,
  type FunctionDetails,
  type FunctionList,
  type JobView,
  hasPendingJobs,
  isAnything,
  isCreatedJob,
  isCreditBalance,
  isDeletedJob,
  isFunctionDetails,
  isFunctionList,
} from "./data.js";
import { focusSelector, h, show } from "./dom.js";
import type { Locale } from "./format.js";
import * as render from "./render.js";
import { type State, initialState } from "./state.js";
import { type Outcome, Tools, confirmationQuestion, readResult } from "./tools.js";

type CallToolResult = Awaited<ReturnType<App["callServerTool"]>>;

const JOBS_PER_PAGE = 20;
// Enough jobs to see whether any of a listed function's jobs is still deploying.
const STATUS_JOBS = 100;
const PARALLEL_STATUS_CALLS = 4;
const MAX_JOB_NAME = 255;

export class Dashboard implements render.Actions {
  private state: State = initialState();
  private readonly tools: Tools;
  private readonly console: GatewayConsole;
  private readonly parts: Record<"header" | "notice" | "functions" | "details", HTMLElement>;
  private jobsPageShown = 1;
  private jobsLimit = JOBS_PER_PAGE;
  private detailsRequest = 0;
  private listRequest = 0;
  private poll: ReturnType<typeof setTimeout> | undefined;
  private openedWith: Record<string, unknown> = {};
  private promptShown: State["prompt"] = null;

  constructor(
    private readonly app: App,
    root: HTMLElement,
  ) {
    this.tools = new Tools(app);
    this.console = new GatewayConsole(this.tools);
    this.parts = {
      header: h("header", { class: "top" }),
      notice: h("div", { class: "notices" }),
      functions: h("section", { class: "panel functions-panel", attrs: { "data-testid": "functions" } }),
      details: h("section", { class: "panel details", attrs: { "data-testid": "details" } }),
    };
    show(
      root,
      this.parts.header,
      this.parts.notice,
      h("div", { class: "grid" }, this.parts.functions, this.parts.details),
      this.console.element,
    );
    this.draw();
  }

  /** The arguments of the tool call that opened the view, sent before its result. */
  openedWithArguments(args: Record<string, unknown> | undefined): void {
    this.openedWith = args ?? {};
  }

  /** The result of the tool call that opened the view: a functions page, one function, or an error. */
  opened(result: CallToolResult): void {
    this.state.phase = "ready";
    if (result.isError) {
      this.openedWithError(readResult("the tool", result, isAnything).text);
      return;
    }
    const data = result.structuredContent;
    if (isFunctionDetails(data)) {
      this.jobsPageShown = data.jobs_page;
      this.jobsLimit = data.jobs_limit;
      this.state.selected = data.function_uuid;
      this.state.details = { data, error: null, loading: false };
      this.afterDetails(data);
      void Promise.all([this.loadList(1), this.loadBalance()]).then(() => this.refreshed());
    } else if (isFunctionList(data)) {
      this.state.list = { data, error: null, loading: false };
      this.autoSelect(data);
      void Promise.all([this.loadStatuses(data), this.loadBalance()]).then(() => this.refreshed());
    } else {
      void this.refresh();
    }
    this.draw();
  }

  private openedWithError(text: string): void {
    const functionUuid = this.openedWith.function_uuid;
    if (typeof functionUuid === "string") {
      // The function could not be shown: say why in its place, and list the others.
      this.state.selected = functionUuid;
      this.state.details = { data: null, error: text, loading: false };
      void Promise.all([this.loadList(1), this.loadBalance()]).then(() => this.refreshed());
    } else {
      this.state.list = { data: null, error: text, loading: false };
      void this.loadBalance().then(() => this.refreshed());
    }
    this.draw();
  }

  cancelled(reason: string): void {
    this.state.phase = "cancelled";
    this.state.notice = {
      tone: "bad",
      text: `The tool call was cancelled${reason ? `: ${reason}` : ""}. Refresh to load.`,
    };
    this.draw();
  }

  stop(): void {
    clearTimeout(this.poll);
  }

  draw(): void {
    const focused = document.activeElement;
    const refocus = focusSelector(focused);
    const where = this.where();
    show(this.parts.header, ...render.header(this.state, this, where));
    show(this.parts.notice, ...render.notice(this.state));
    show(this.parts.functions, ...render.functions(this.state, this, where));
    show(this.parts.details, ...render.details(this.state, this, where));
    if (this.state.prompt !== this.promptShown) {
      // A new question takes the keyboard focus, on its safe answer.
      this.promptShown = this.state.prompt;
      this.parts.details.querySelector<HTMLElement>('[data-testid="confirm-no"]')?.focus();
    } else if (refocus && focused && !focused.isConnected) {
      // The redraw replaced the focused control: focus its replacement, so that keyboard users keep their place.
      document.querySelector<HTMLElement>(refocus)?.focus();
    }
    const details = this.state.details.data;
    this.console.setFunction(this.state.selected, details?.function_uuid === this.state.selected ? details.name : null);
  }

  // Actions from the view.

  refresh = (): void => {
    void this.reload();
  };

  select = (functionUuid: string): void => {
    if (functionUuid === this.state.selected) return;
    this.state.selected = functionUuid;
    this.state.details = { data: null, error: null, loading: true };
    this.state.prompt = null;
    this.jobsPageShown = 1;
    this.jobsLimit = JOBS_PER_PAGE;
    this.draw();
    void this.loadDetails();
  };

  listPage = (page: number): void => {
    void this.loadList(page);
  };

  jobsPage = (page: number): void => {
    this.jobsPageShown = Math.max(1, page);
    void this.loadDetails();
  };

  askDelete = (job: JobView): void => {
    void this.runAction(async () => {
      // The first call changes nothing: the server answers with what the deletion would do and a token (or asks the
      // user itself, through the host, when the host can show a form).
      const outcome = await this.tools.call("delete_cloud_function_job", { job_uuid: job.job_uuid }, isAnything);
      this.afterDelete(job, outcome);
    });
  };

  askRollback = (job: JobView): void => {
    const name = `Rollback: ${job.name}`.slice(0, MAX_JOB_NAME);
    this.state.prompt = { kind: "rollback", job, name };
    this.state.notice = null;
    this.draw();
  };

  confirm = (): void => {
    const prompt = this.state.prompt;
    if (!prompt) return;
    void this.runAction(async () => {
      if (prompt.kind === "delete") {
        const outcome = await this.tools.call(
          "delete_cloud_function_job",
          { job_uuid: prompt.job.job_uuid, confirmation_token: prompt.token },
          isAnything,
        );
        this.afterDelete(prompt.job, outcome);
        return;
      }
      const functionUuid = this.state.selected;
      if (!functionUuid) return;
      const outcome = await this.tools.call(
        "create_cloud_function_job",
        { function_uuid: functionUuid, name: prompt.name, script_cid: prompt.job.script_cid },
        isAnything,
      );
      this.state.prompt = null;
      if (outcome.kind !== "ok") {
        if (outcome.kind === "error" && outcome.unknownTool) this.state.unavailable.add("create_cloud_function_job");
        this.state.notice = { tone: "bad", text: `The job was not created: ${outcome.text}` };
        return;
      }
      this.state.notice = { tone: "ok", text: isCreatedJob(outcome.data) ? createdNotice(outcome.data) : outcome.text };
      await this.tellModel(outcome.text);
    });
  };

  cancelPrompt = (): void => {
    const prompt = this.state.prompt;
    this.state.prompt = null;
    this.state.notice =
      prompt?.kind === "delete"
        ? { tone: "ok", text: `Nothing was deleted: job "${prompt.job.name}" is untouched.` }
        : null;
    this.draw();
  };

  // Loading.

  private async reload(): Promise<void> {
    this.state.phase = "ready";
    const page = this.state.list.data?.page ?? 1;
    await Promise.all([this.loadList(page), this.loadBalance(), this.state.selected ? this.loadDetails() : null]);
    this.refreshed();
  }

  private refreshed(): void {
    this.state.refreshedAt = new Date();
    this.draw();
  }

  private async loadList(page: number): Promise<void> {
    const request = ++this.listRequest;
    this.state.list.loading = true;
    this.draw();
    const outcome = await this.tools.call("list_cloud_functions", { page }, isFunctionList);
    if (request !== this.listRequest) return;
    this.state.list.loading = false;
    if (outcome.kind !== "ok") {
      this.state.list.error = outcome.text;
      this.draw();
      return;
    }
    this.state.list = { data: outcome.data, error: null, loading: false };
    this.autoSelect(outcome.data);
    this.draw();
    await this.loadStatuses(outcome.data);
  }

  /** Serving status of each listed function, which the functions list does not carry. */
  private async loadStatuses(list: FunctionList, only?: ReadonlySet<string>): Promise<void> {
    const queue = list.functions.map((fn) => fn.function_uuid).filter((uuid) => !only || only.has(uuid));
    const worker = async (): Promise<void> => {
      for (let uuid = queue.shift(); uuid !== undefined; uuid = queue.shift()) {
        const details = this.state.details.data;
        if (details?.function_uuid === uuid && !only) {
          this.setStatus(details);
          continue;
        }
        const outcome = await this.tools.call(
          "get_cloud_function",
          { function_uuid: uuid, jobs_limit: STATUS_JOBS },
          isFunctionDetails,
        );
        if (outcome.kind === "ok") this.setStatus(outcome.data);
        else this.state.statuses.set(uuid, "unknown");
        this.draw();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_STATUS_CALLS }, worker));
    this.schedulePoll();
  }

  private setStatus(details: FunctionDetails): void {
    this.state.statuses.set(details.function_uuid, {
      gateway: details.gateway_status,
      deploying: hasPendingJobs(details),
    });
  }

  private async loadDetails(): Promise<void> {
    const functionUuid = this.state.selected;
    if (!functionUuid) return;
    const request = ++this.detailsRequest;
    this.state.details.loading = true;
    const outcome = await this.tools.call(
      "get_cloud_function",
      { function_uuid: functionUuid, jobs_page: this.jobsPageShown, jobs_limit: this.jobsLimit },
      isFunctionDetails,
    );
    if (request !== this.detailsRequest || functionUuid !== this.state.selected) return;
    if (outcome.kind !== "ok") {
      this.state.details = { data: this.state.details.data, error: outcome.text, loading: false };
      this.draw();
      return;
    }
    this.state.details = { data: outcome.data, error: null, loading: false };
    this.afterDetails(outcome.data);
    this.draw();
  }

  private afterDetails(details: FunctionDetails): void {
    this.setStatus(details);
    this.schedulePoll();
  }

  private async loadBalance(): Promise<void> {
    const outcome = await this.tools.call("get_credit_balance", {}, isCreditBalance);
    this.state.balance =
      outcome.kind === "ok"
        ? { data: outcome.data, error: null, loading: false }
        : { data: this.state.balance.data, error: outcome.text, loading: false };
    this.draw();
  }

  private autoSelect(list: FunctionList): void {
    const only = list.functions.length === 1 ? list.functions[0] : undefined;
    if (this.state.selected === null && only) this.select(only.function_uuid);
  }

  // While a job deploys, the view keeps looking until it is MATCHED (or fails), so that the user sees it take over.
  private schedulePoll(): void {
    clearTimeout(this.poll);
    const deploying = [...this.state.statuses.entries()]
      .filter(([, status]) => status !== "unknown" && status.deploying)
      .map(([uuid]) => uuid);
    const details = this.state.details.data;
    const selectedDeploying =
      details !== null && details.function_uuid === this.state.selected && hasPendingJobs(details);
    this.state.polling = deploying.length > 0 || selectedDeploying;
    if (!this.state.polling) return;
    this.poll = setTimeout(() => void this.pollOnce(new Set(deploying)), render.POLL_SECONDS * 1000);
  }

  private async pollOnce(deploying: ReadonlySet<string>): Promise<void> {
    const list = this.state.list.data;
    const others = new Set([...deploying].filter((uuid) => uuid !== this.state.selected));
    await Promise.all([
      this.loadDetails(),
      this.loadBalance(),
      list && others.size > 0 ? this.loadStatuses(list, others) : null,
    ]);
    this.refreshed();
    this.schedulePoll();
  }

  // Actions.

  private async runAction(action: () => Promise<void>): Promise<void> {
    if (this.state.busy) return;
    this.state.busy = true;
    this.state.notice = null;
    this.draw();
    try {
      await action();
    } finally {
      this.state.busy = false;
      this.draw();
    }
    await Promise.all([this.loadDetails(), this.loadBalance()]);
    this.refreshed();
  }

  private afterDelete(job: JobView, outcome: Outcome<Record<string, unknown>>): void {
    if (outcome.kind === "confirm") {
      this.state.prompt = { kind: "delete", job, question: confirmationQuestion(outcome.text), token: outcome.token };
      return;
    }
    this.state.prompt = null;
    if (outcome.kind !== "ok") {
      if (outcome.unknownTool) this.state.unavailable.add("delete_cloud_function_job");
      this.state.notice = { tone: "bad", text: `Job "${job.name}" was not deleted: ${outcome.text}` };
      return;
    }
    this.state.notice = { tone: "ok", text: deletedNotice(job, outcome.data) };
    void this.tellModel(outcome.text);
  }

  /** Keeps the model's picture true after the user changed something from the view. */
  private async tellModel(summary: string): Promise<void> {
    if (!this.app.getHostCapabilities()?.updateModelContext) return;
    try {
      await this.app.updateModelContext({
        content: [{ type: "text", text: `From the Cloud Functions dashboard, the user acted: ${summary}` }],
      });
    } catch {
      // The host declined the update; the dashboard itself already shows the outcome.
    }
  }

  private where(): Locale {
    const context = this.app.getHostContext();
    return { locale: context?.locale, timeZone: context?.timeZone };
  }
}

/** The deletion in the user's words; any answer that is not an error means the job is gone. */
function deletedNotice(job: JobView, answer: Record<string, unknown>): string {
  const deleted: DeletedJob | null = isDeletedJob(answer) ? answer : null;
  const served = deleted?.served_gateway
    ? " It served the gateway, which stops answering within about 5 minutes unless another job takes over."
    : "";
  return `Deleted job "${deleted?.name ?? job.name}".${served}`;
}

function createdNotice(created: CreatedJob): string {
  const spent = created.credits_spent !== null ? ` Spent ${created.credits_spent} credits.` : "";
  return (
    `Created job "${created.job.name}" running ${created.job.script_cid}: ${created.job.status}.${spent} ` +
    "It takes over the gateway when it reaches MATCHED, usually within a few minutes; this view follows it."
  );
}
