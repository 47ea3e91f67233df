"use strict";
// The Acurast processor runtime as an Apillon cloud-function script sees it during one gateway call.
// Usage: node acurast_shim.js <spec.json>; the spec is written by apillon_mcp/emulator/script_runner.py.
// The reply leaves as one stdout line behind the spec's marker; everything the script itself prints goes to stderr.

const fs = require("fs");
const util = require("util");

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const writeReply = process.stdout.write.bind(process.stdout);
const writeLog = process.stderr.write.bind(process.stderr);

process.stdout.write = writeLog;
for (const name of ["log", "info", "debug", "warn", "error", "trace", "dir"]) {
  console[name] = (...args) => writeLog(`${util.format(...args)}\n`);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
let opened = false;
let handler = null;
let delivered = false;
let replied = false;

function deliver() {
  if (!opened || handler === null || delivered) {
    return;
  }
  delivered = true;
  const message = { sender: spec.sender, recipient: spec.recipient, payload: spec.payload };
  setImmediate(() => handler(message));
}

globalThis._STD_ = {
  env: { ...spec.env },
  job: {
    getId: () => spec.jobId,
  },
  ws: {
    open(urls, onOpen, onError) {
      setImmediate(() => {
        opened = true;
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
        writeLog(`_STD_.ws.send to ${recipient} ignored: only the gateway (${spec.sender}) is listening\n`);
        return;
      }
      if (!replied) {
        replied = true;
        writeReply(`\n${spec.marker}${payload}\n`);
      }
    },
    close() {},
  },
};

require(spec.scriptPath);
