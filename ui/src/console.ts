// The gateway console: POST a JSON body to the selected function through invoke_cloud_function, and show the reply
// as text. The reply is whatever the function's script sent: it is never parsed as markup.

import { isInvocation } from "./data.js";
import { button, h, show } from "./dom.js";
import type { Tools } from "./tools.js";

export class GatewayConsole {
  readonly element: HTMLElement;
  private readonly target: HTMLElement;
  private readonly path: HTMLInputElement;
  private readonly body: HTMLTextAreaElement;
  private readonly send: HTMLButtonElement;
  private readonly output: HTMLElement;
  private functionUuid: string | null = null;
  private sending = false;

  constructor(private readonly tools: Tools) {
    this.target = h("span", { class: "muted" });
    this.path = h("input", {
      attrs: { type: "text", value: "/", "aria-label": "Path", "data-testid": "console-path" },
    });
    this.path.value = "/";
    this.body = h("textarea", {
      attrs: { rows: "3", spellcheck: "false", "aria-label": "JSON body", "data-testid": "console-body" },
    });
    this.body.value = "{}";
    this.send = button("Send", () => void this.submit(), { kind: "primary", testid: "console-send" });
    this.output = h("div", { class: "output", attrs: { "aria-live": "polite", "data-testid": "console-output" } });
    this.element = h(
      "section",
      { class: "panel console", attrs: { "data-testid": "console" } },
      h("h2", {}, "Gateway console ", this.target),
      h(
        "div",
        { class: "console-form" },
        h("label", { class: "field" }, "POST path", this.path),
        h("label", { class: "field grow" }, "Body (JSON)", this.body),
        this.send,
      ),
      this.output,
    );
    this.setFunction(null, null);
  }

  setFunction(functionUuid: string | null, name: string | null): void {
    if (functionUuid !== this.functionUuid) show(this.output);
    this.functionUuid = functionUuid;
    show(this.target, name ? `— ${name}` : "— select a function");
    this.send.disabled = functionUuid === null || this.sending;
  }

  private async submit(): Promise<void> {
    const functionUuid = this.functionUuid;
    if (functionUuid === null || this.sending) return;
    let body: unknown = null;
    const raw = this.body.value.trim();
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        show(
          this.output,
          this.failure('The body must be JSON, for example {"coin": "eth"}, or "some text" in quotes.'),
        );
        return;
      }
    }
    this.sending = true;
    this.send.disabled = true;
    show(this.output, h("p", { class: "muted" }, "Sending…"));
    const outcome = await this.tools.call(
      "invoke_cloud_function",
      { function_uuid: functionUuid, body, path: this.path.value.trim() || "/" },
      isInvocation,
    );
    this.sending = false;
    this.send.disabled = this.functionUuid === null;
    if (functionUuid !== this.functionUuid) return;
    if (outcome.kind !== "ok") {
      show(this.output, this.failure(outcome.text));
      return;
    }
    const reply = outcome.data;
    const trimmed = reply.truncated ? " · reply trimmed" : "";
    show(
      this.output,
      h(
        "p",
        { class: "muted", attrs: { "data-testid": "console-status" } },
        `HTTP ${reply.status} · ${Math.round(reply.latency_ms)} ms${trimmed}`,
      ),
      h("pre", { class: "reply", attrs: { "data-testid": "console-reply" } }, reply.reply),
    );
  }

  private failure(text: string): HTMLElement {
    return h("pre", { class: "reply error-text", attrs: { role: "alert", "data-testid": "console-error" } }, text);
  }
}
