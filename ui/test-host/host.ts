// A minimal MCP Apps host for the browser tests: an MCP client to the server on this origin, and the official
// host-side AppBridge rendering the view of one tool call in a sandboxed frame. Not shipped.
//
// host.html?tool=<name>&args=<JSON>[&theme=dark] calls the tool, reads its ui:// resource, and shows the view.
// window.testHost exposes what the tests check: readiness, the view's tool calls and their answers, and the
// model-context updates the view sent.

import {
  AppBridge,
  type McpUiResourceCsp,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

interface TestHost {
  ready: boolean;
  error: string | null;
  /** The tool calls the view made through the host, in order, and the answers it got (as JSON). */
  calls: { name: string; arguments: Record<string, unknown> }[];
  answers: string[];
  modelContext: unknown[];
}

const testHost: TestHost = { ready: false, error: null, calls: [], answers: [], modelContext: [] };
(window as unknown as { testHost: TestHost }).testHost = testHost;

const HOST = { name: "apillon-mcp-test-host", version: "1.0.0" };

/** The CSP the spec tells a host to build from the resource's declared domains. */
function policy(csp: McpUiResourceCsp | undefined): string {
  const resources = (csp?.resourceDomains ?? []).join(" ");
  const connect = (csp?.connectDomains ?? []).join(" ");
  return [
    "default-src 'none'",
    `script-src 'self' 'unsafe-inline' ${resources}`,
    `style-src 'self' 'unsafe-inline' ${resources}`,
    `connect-src 'self' ${connect}`,
    `img-src 'self' data: ${resources}`,
    `font-src 'self' ${resources}`,
    `media-src 'self' data: ${resources}`,
    `frame-src ${(csp?.frameDomains ?? []).join(" ") || "'none'"}`,
    "object-src 'none'",
    `base-uri ${(csp?.baseUriDomains ?? []).join(" ") || "'self'"}`,
  ].join("; ");
}

function withPolicy(html: string, csp: McpUiResourceCsp | undefined): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy(csp).replace(/"/g, "&quot;")}">`;
  return html.replace(/<head>/i, `<head>${meta}`);
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const toolName = params.get("tool") ?? "list_cloud_functions";
  const args = JSON.parse(params.get("args") ?? "{}") as Record<string, unknown>;
  const theme = params.get("theme") === "dark" ? "dark" : "light";
  document.body.dataset.theme = theme;
  document.getElementById("tool")!.textContent = toolName;

  const client = new Client(HOST, {
    capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));
  const { tools } = await client.listTools();
  const tool = tools.find((candidate) => candidate.name === toolName);
  if (!tool) throw new Error(`the server has no tool ${toolName}`);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${toolName} carries no _meta.ui.resourceUri`);
  const [content] = (await client.readResource({ uri })).contents;
  if (!content || content.mimeType !== RESOURCE_MIME_TYPE || !("text" in content)) {
    throw new Error(`${uri} is not an MCP App resource`);
  }
  const meta = content._meta as { ui?: { csp?: McpUiResourceCsp } } | undefined;

  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.title = "MCP App view";
  document.getElementById("frame")!.appendChild(frame);

  const bridge = new AppBridge(
    client,
    HOST,
    { serverTools: {}, serverResources: {}, logging: {}, updateModelContext: { text: {} } },
    {
      hostContext: {
        theme,
        locale: "en-US",
        timeZone: "UTC",
        displayMode: "inline",
        platform: "web",
        containerDimensions: { maxHeight: 4000 },
      },
    },
  );
  bridge.onsizechange = ({ height }) => {
    if (height !== undefined) frame.style.height = `${height}px`;
  };
  bridge.onupdatemodelcontext = async (update) => {
    testHost.modelContext.push(update);
    return {};
  };
  const initialized = new Promise<void>((resolve) => {
    bridge.oninitialized = () => resolve();
  });
  const result = client.callTool({ name: toolName, arguments: args });
  await bridge.connect(new PostMessageTransport(frame.contentWindow!, frame.contentWindow!));
  const forward = bridge.oncalltool!;
  bridge.oncalltool = async (call, extra) => {
    testHost.calls.push({ name: call.name, arguments: call.arguments ?? {} });
    const answer = await forward(call, extra);
    testHost.answers.push(JSON.stringify(answer));
    return answer;
  };
  frame.srcdoc = withPolicy(content.text, meta?.ui?.csp);
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(await result);
  testHost.ready = true;
}

main().catch((error: unknown) => {
  testHost.error = error instanceof Error ? error.message : String(error);
  document.getElementById("frame")!.textContent = `Host error: ${testHost.error}`;
});
