// Builds the dashboard view into one self-contained HTML document that ships in the Python package, so that users
// need no Node. The build is deterministic: the same sources give the same bytes.
//
//   node build.mjs                  write ../apillon_mcp/ui/dashboard.html
//   node build.mjs --check          exit 1 when the shipped file is not the build of these sources
//   node build.mjs --test-host DIR  bundle the browser tests' host page into DIR (not shipped)

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const shipped = join(here, "..", "apillon_mcp", "ui", "dashboard.html");
const BUILD_INPUTS = ["package.json", "package-lock.json", "build.mjs", "tsconfig.json"];

function filesUnder(folder) {
  return readdirSync(join(here, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** sha256 over every input of the build, each as its POSIX path, NUL, its bytes, NUL; in path order. */
export function sourcesDigest() {
  const paths = [...BUILD_INPUTS, ...filesUnder("src")].map((path) => path.split(sep).join("/")).sort();
  const hash = createHash("sha256");
  for (const path of paths) {
    hash.update(path);
    hash.update("\0");
    hash.update(readFileSync(join(here, path)));
    hash.update("\0");
  }
  return `sha256:${hash.digest("hex")}`;
}

// Two size trims, both about code the view never runs:
// - zod's error-message tables for every language but English (zod only switches language when told to);
// - the MCP client and core packages are side-effect free but do not say so, so their unused transports, OAuth
//   helpers and validators would otherwise stay in.
const lean = {
  name: "lean",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`) ? { path: "zod-locales", namespace: "lean" } : undefined,
    );
    build.onLoad({ filter: /^zod-locales$/, namespace: "lean" }, () => ({
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      resolveDir: here,
    }));
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.lean || args.kind === "entry-point" || args.namespace !== "file") return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { lean: true },
      });
      if (resolved.errors.length > 0) return resolved;
      const sideEffectFree = /[\\/]node_modules[\\/]@modelcontextprotocol[\\/](client|core)[\\/]/.test(resolved.path);
      return sideEffectFree ? { ...resolved, sideEffects: false } : resolved;
    });
  },
};

async function bundle(entry, options = {}) {
  const result = await esbuild.build({
    entryPoints: [join(here, entry)],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    charset: "utf8",
    legalComments: "eof",
    write: false,
    logLevel: "warning",
    plugins: [lean],
    ...options,
  });
  return result.outputFiles[0].text;
}

function inline(text, closingTag) {
  if (text.toLowerCase().includes(`</${closingTag}`)) {
    throw new Error(`the bundled ${closingTag} contains "</${closingTag}": it cannot be inlined`);
  }
  return text.trim();
}

export async function buildDashboard() {
  const js = await bundle("src/main.ts");
  const css = await bundle("src/dashboard.css", { loader: { ".css": "css" } });
  const parts = { SOURCES: sourcesDigest(), CSS: inline(css, "style"), JS: inline(js, "script") };
  const template = readFileSync(join(here, "src", "dashboard.html"), "utf8");
  return template.replace(/\{\{(SOURCES|CSS|JS)\}\}/g, (_, key) => parts[key]);
}

async function buildTestHost(out) {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "host.js"), await bundle("test-host/host.ts", { minify: false, plugins: [] }));
  copyFileSync(join(here, "test-host", "host.html"), join(out, "host.html"));
}

const args = process.argv.slice(2);
if (args[0] === "--test-host" && args[1]) {
  await buildTestHost(args[1]);
} else if (args[0] === "--check") {
  const built = await buildDashboard();
  const current = readFileSync(shipped, "utf8");
  if (built !== current) {
    console.error(
      `${relative(process.cwd(), shipped)} is not the build of ui/: run "npm run build" in ui/ and commit it.`,
    );
    process.exit(1);
  }
  console.log(`${relative(process.cwd(), shipped)} is the build of its sources (${Buffer.byteLength(built)} bytes).`);
} else if (args.length === 0) {
  const built = await buildDashboard();
  mkdirSync(dirname(shipped), { recursive: true });
  writeFileSync(shipped, built);
  const size = Buffer.byteLength(built);
  console.log(`wrote ${relative(process.cwd(), shipped)}: ${size} bytes`);
} else {
  console.error("usage: node build.mjs [--check | --test-host DIR]");
  process.exit(2);
}
