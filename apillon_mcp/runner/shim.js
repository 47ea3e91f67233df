"use strict";
// The Acurast processor runtime as an Apillon cloud-function script sees it: `_STD_` (env, job, ws) around one
// script, in one long-lived process. Started by apillon_mcp/runner/process.py as `node <isolation flags> -e <this>`,
// so Node itself reads no file; everything comes through stdin, one JSON object per line:
//   first  {"mode": "serve"|"check", "marker", "script", "env", "jobId", "sender", "recipient"}
//   then   {"call": id, "payload": hex} | {"cancel": id} | {"ping": id}
// Messages to the parent leave on stdout as one line each, "\n" + marker + JSON, so that nothing the script writes
// can pass for one: {"reply": id, "payload": hex} | {"pong": id} | {"error": {...}} | {"syntax": {...} | null}.
// Everything the script prints goes to stderr. The process ends when stdin closes or the parent goes away.

const fs = require("fs");
const path = require("path");
const util = require("util");
const vm = require("vm");
const { AsyncLocalStorage } = require("async_hooks");
const { Module, createRequire } = require("module");

const SCRIPT_PATH = path.join(path.parse(process.cwd()).root, "script.js");
const WRAPPER_PARAMETERS = ["exports", "require", "module", "__filename", "__dirname"];
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const exit = process.exit.bind(process);
const stderr = process.stderr;
const parentPid = process.ppid;

let marker = null;
let pending = "";

function tell(message) {
  const line = Buffer.from(`\n${marker}${JSON.stringify(message)}\n`, "utf8");
  let offset = 0;
  while (offset < line.length) {
    try {
      offset += fs.writeSync(1, line, offset);
    } catch (error) {
      if (error.code !== "EAGAIN") {
        throw error;
      }
    }
  }
}

function log(text) {
  stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

// The script's stdout and console go to stderr; stdout belongs to the messages above.
Object.defineProperty(process, "stdout", { configurable: true, enumerable: true, get: () => stderr });
for (const name of ["log", "info", "debug", "warn", "error", "trace", "dir"]) {
  console[name] = (...args) => log(util.format(...args));
}

function position(error) {
  // Where in the script an error was thrown: the first stack frame in it, or the line Node's parser points at.
  const stack = error !== null && typeof error === "object" && typeof error.stack === "string" ? error.stack : "";
  const header = stack.startsWith(`${SCRIPT_PATH}:`) ? /^[^\n]*:(\d+)\n([^\n]*)\n([ \t]*)\^/.exec(stack) : null;
  if (header !== null) {
    return { line: Number(header[1]), column: header[3].length + 1, source: header[2] };
  }
  const at = stack.split(`${SCRIPT_PATH}:`)[1];
  const frame = at === undefined ? null : /^(\d+):(\d+)/.exec(at);
  return frame === null ? { line: null, column: null, source: null } : { line: Number(frame[1]), column: Number(frame[2]), source: null };
}

function describe(error) {
  const isError = error instanceof Error;
  const name = isError ? error.name : typeof error;
  let message;
  try {
    message = isError ? String(error.message) : util.inspect(error);
  } catch {
    message = "(the thrown value cannot be shown)";
  }
  const { line, column } = position(error);
  return { name: String(name), message, line, column };
}

function scriptFrames(stack) {
  // The stack down to the script's outermost frame: what lies below is this shim and Node's internals.
  const lines = stack.split("\n");
  let last = -1;
  lines.forEach((line, index) => {
    if (line.includes(SCRIPT_PATH)) {
      last = index;
    }
  });
  return last < 0 ? stack : lines.slice(0, last + 1).join("\n");
}

function fail(error, label) {
  let shown;
  try {
    shown = error instanceof Error && typeof error.stack === "string" ? scriptFrames(error.stack) : util.inspect(error);
  } catch {
    shown = String(error);
  }
  log(`${label}: ${shown}`);
  tell({ error: describe(error) });
  exit(1);
}

// The script's own handlers, when it has some, decide; otherwise an error ends the process, as it ends a job.
process.on("uncaughtException", (error) => {
  if (process.listenerCount("uncaughtException") === 1) {
    fail(error, "Uncaught exception");
  }
});
process.on("unhandledRejection", (reason) => {
  if (process.listenerCount("unhandledRejection") === 1) {
    fail(reason, "Unhandled promise rejection");
  }
});

function compile(source) {
  return vm.compileFunction(source.replace(/^\uFEFF/, ""), WRAPPER_PARAMETERS, { filename: SCRIPT_PATH });
}

function check(source) {
  try {
    compile(source);
  } catch (error) {
    const { line, column, source: text } = position(error);
    tell({ syntax: { message: `${error.name}: ${error.message}`, line, column, source: text } });
    exit(0);
  }
  tell({ syntax: null });
  exit(0);
}

function serve(spec) {
  const calls = new AsyncLocalStorage();
  const waiting = []; // ids of the calls not answered yet, oldest first
  const queued = []; // calls received before the script listens
  let handler = null;
  let open = false;
  let keepAlive = null; // an open websocket keeps a job alive

  function deliver() {
    while (open && handler !== null && queued.length > 0) {
      const call = queued.shift();
      const message = { sender: spec.sender, recipient: spec.recipient, payload: call.payload };
      const listener = handler;
      setImmediate(() => calls.run(call.id, () => listener(message)));
    }
  }

  function answer(payload) {
    // The call whose handler is sending; a send from outside any call answers the oldest one still waiting.
    const current = calls.getStore();
    const id = current !== undefined ? current : waiting[0];
    const index = waiting.indexOf(id);
    if (index < 0) {
      log("_STD_.ws.send: no gateway call is waiting for this reply (already answered or timed out); dropped");
      return;
    }
    waiting.splice(index, 1);
    tell({ reply: id, payload });
  }

  globalThis._STD_ = {
    env: Object.freeze({ ...spec.env }),
    job: { getId: () => spec.jobId },
    ws: {
      open(urls, onOpen, onError) {
        if (keepAlive === null) {
          keepAlive = setInterval(() => {}, 1 << 30);
        }
        setImmediate(() => {
          open = true;
          if (typeof onOpen === "function") {
            onOpen();
          }
          deliver();
        });
      },
      registerPayloadHandler(fn) {
        if (typeof fn !== "function") {
          throw new TypeError("_STD_.ws.registerPayloadHandler needs a function");
        }
        handler = fn;
        deliver();
      },
      send(recipient, payload) {
        if (typeof payload !== "string" || !HEX.test(payload)) {
          throw new TypeError("_STD_.ws.send: the payload must be a hex string");
        }
        if (recipient !== spec.sender) {
          log(`_STD_.ws.send to ${recipient} ignored: only the gateway (${spec.sender}) is listening`);
          return;
        }
        answer(payload);
      },
      close() {
        open = false;
        if (keepAlive !== null) {
          clearInterval(keepAlive);
          keepAlive = null;
        }
      },
    },
  };

  const onMessage = (message) => {
    if (typeof message.call === "number") {
      waiting.push(message.call);
      queued.push({ id: message.call, payload: String(message.payload) });
      deliver();
    } else if (typeof message.cancel === "number") {
      const index = waiting.indexOf(message.cancel);
      if (index >= 0) {
        waiting.splice(index, 1);
      }
      const queuedIndex = queued.findIndex((call) => call.id === message.cancel);
      if (queuedIndex >= 0) {
        queued.splice(queuedIndex, 1);
      }
    } else if (typeof message.ping === "number") {
      tell({ pong: message.ping });
    }
  };

  const script = new Module(SCRIPT_PATH, null);
  script.filename = SCRIPT_PATH;
  script.paths = [];
  const run = compile(spec.script);
  const scriptRequire = createRequire(SCRIPT_PATH);
  run.call(script.exports, script.exports, scriptRequire, script, SCRIPT_PATH, path.dirname(SCRIPT_PATH));
  script.loaded = true;
  return onMessage;
}

let onMessage = null;

function received(line) {
  const message = JSON.parse(line);
  if (onMessage !== null) {
    onMessage(message);
    return;
  }
  marker = message.marker;
  if (message.mode === "check") {
    check(message.script);
    return;
  }
  try {
    onMessage = serve(message);
  } catch (error) {
    fail(error, "Uncaught exception");
  }
  // From now on, reading the parent's messages does not keep the process alive: a script with nothing left to
  // do ends, as it would on a processor.
  process.stdin.unref();
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  let start = pending.length;
  pending += chunk;
  let end;
  while ((end = pending.indexOf("\n", start)) >= 0) {
    const line = pending.slice(0, end);
    pending = pending.slice(end + 1);
    start = 0;
    received(line);
  }
});
process.stdin.on("end", () => exit(0));
setInterval(() => {
  if (process.ppid !== parentPid) {
    exit(0);
  }
}, 1000).unref();
