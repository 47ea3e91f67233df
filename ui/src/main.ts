// The MCP App entry point: connects to the host with the official App SDK and hands what the host sends to the
// dashboard.

import {
  App,
  type McpUiHostContext,
  applyDocumentTheme,
  applyHostStyleVariables,
} from "@modelcontextprotocol/ext-apps";
import { Dashboard } from "./dashboard.js";

function applyHostLook(context: McpUiHostContext | undefined): void {
  if (context?.theme) applyDocumentTheme(context.theme);
  if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
}

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  const app = new App({ name: "apillon-mcp-dashboard", version: "1.0.0" }, {}, { autoResize: true });
  const dashboard = new Dashboard(app, root);
  // Handlers go in before connecting: the host may send the tool result right after the handshake.
  app.ontoolinput = (params) => dashboard.openedWithArguments(params.arguments);
  app.ontoolresult = (result) => dashboard.opened(result);
  app.ontoolcancelled = (params) => dashboard.cancelled(params.reason ?? "");
  app.onhostcontextchanged = (context) => {
    applyHostLook(context);
    dashboard.draw();
  };
  app.onteardown = async () => {
    dashboard.stop();
    return {};
  };
  await app.connect();
  applyHostLook(app.getHostContext());
  dashboard.draw();
}

void start();
