// Calling the server's tools through the host (tools/call), and reading their answers: data, a confirmation the
// user must give first, or an error to show.

import type { App } from "@modelcontextprotocol/ext-apps";

type CallToolResult = Awaited<ReturnType<App["callServerTool"]>>;

export type Outcome<T> =
  | { kind: "ok"; data: T; text: string }
  | { kind: "confirm"; text: string; token: string }
  | { kind: "error"; text: string; unknownTool?: boolean };

const CONFIRMATION = "Confirmation required:";
const TOKEN = /confirmation_token="([^"]+)"/;

export function resultText(result: CallToolResult): string {
  return result.content
    .flatMap((block) => (block.type === "text" ? [block.text] : []))
    .join("\n")
    .trim();
}

/** Reads a tool result: `guard` says whether its structured content is the data the view expects. */
export function readResult<T>(name: string, result: CallToolResult, guard: (value: unknown) => value is T): Outcome<T> {
  const text = resultText(result);
  if (result.isError) {
    const token = TOKEN.exec(text);
    if (text.startsWith(CONFIRMATION) && token?.[1]) return { kind: "confirm", text, token: token[1] };
    // The SDK prefixes tool errors with "Error executing tool <name>: "; the view says which action failed itself.
    const reason = text.replace(/^Error executing tool [\w.-]+: /, "");
    if (reason.startsWith("Unknown tool")) {
      return { kind: "error", text: `This server does not offer ${name} (it may run read-only).`, unknownTool: true };
    }
    return { kind: "error", text: reason || `${name} failed without saying why.` };
  }
  if (!guard(result.structuredContent)) {
    return { kind: "error", text: `${name} answered in a form this dashboard does not understand.` };
  }
  return { kind: "ok", data: result.structuredContent, text };
}

/**
 * What the user is asked to agree to: the effect the server described, without the instructions the server gives
 * the model (the token itself, and how to send it back), which the view handles with its own buttons.
 */
export function confirmationQuestion(text: string): string {
  const body = text.slice(CONFIRMATION.length).trim();
  const end = body.search(/\n\s*Nothing was changed\./);
  return (end >= 0 ? body.slice(0, end) : body.replace(TOKEN, "")).trim();
}

export class Tools {
  constructor(private readonly app: App) {}

  async call<T>(
    name: string,
    args: Record<string, unknown>,
    guard: (value: unknown) => value is T,
  ): Promise<Outcome<T>> {
    let result: CallToolResult;
    try {
      result = await this.app.callServerTool({ name, arguments: args });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { kind: "error", text: `The host could not call ${name}: ${reason}` };
    }
    return readResult(name, result, guard);
  }
}
