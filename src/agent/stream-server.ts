import { ContainerLogStore, LogError } from "./container-logs.ts";
import type { ExecProcess, Runtime } from "./runtime.ts";
import { StartError } from "./runtime.ts";
import type { StreamHandler, TunnelStream } from "./tunnel-client.ts";
import { serveHttp } from "./http-proxy.ts";
import { Channel, parseTerminalSize, type ExecRequest, type LogRequest, type PortForwardRequest } from "../tunnel/frames.ts";
import { PortForwardSession } from "./port-forward.ts";

/**
 * What a node serves through its tunnel: container logs (from the agent's log files) and exec
 * (through the runtime), speaking the channel.k8s.io remote-command channels for exec so the
 * control plane only relays frames.
 */

export interface StreamServerDeps {
  logs?: ContainerLogStore;
  runtime: Runtime;
  log: (line: string) => void;
}

export function streamHandler(deps: StreamServerDeps): StreamHandler {
  return (req, stream) => {
    if (req.kind === "log") void serveLog(deps, req, stream);
    else if (req.kind === "exec" || req.kind === "attach") void serveExec(deps, req, stream);
    else if (req.kind === "http") serveHttp(req, stream, deps.log);
    else if (req.kind === "portforward") servePortForward(deps, req, stream);
    else stream.reject({ code: 400, reason: "BadRequest", message: `unknown stream kind` });
  };
}

async function serveLog(deps: StreamServerDeps, req: LogRequest, stream: TunnelStream): Promise<void> {
  if (!deps.logs) {
    stream.reject({ code: 400, reason: "BadRequest", message: `the ${deps.runtime.name} runtime keeps no container logs` });
    return;
  }
  let accepted = false;
  try {
    await deps.logs.serve(
      { podUid: req.pod.uid, pod: req.pod.name, container: req.pod.container },
      req.options,
      async (chunk) => {
        if (!accepted) {
          accepted = true;
          stream.accept();
        }
        await stream.write(chunk);
      },
      stream.signal,
    );
    if (!accepted) stream.accept();
    stream.end();
  } catch (e) {
    if (!accepted) {
      if (e instanceof LogError) stream.reject({ code: e.code, reason: e.reason, message: e.message });
      else stream.reject({ code: 500, reason: "InternalError", message: `reading the log: ${e instanceof Error ? e.message : String(e)}` });
    } else {
      deps.log(`log of ${req.pod.namespace}/${req.pod.name}/${req.pod.container}: ${e instanceof Error ? e.message : String(e)}`);
      stream.reset();
    }
  }
}

function servePortForward(deps: StreamServerDeps, req: PortForwardRequest, stream: TunnelStream): void {
  stream.accept();
  const session = new PortForwardSession({
    host: req.host,
    podName: req.pod.name,
    podUid: req.pod.uid,
    send: (bytes) => stream.write(bytes),
    log: deps.log,
    onClosed: () => stream.end(),
  });
  stream.onData = (data) => session.receive(data);
  stream.signal.addEventListener("abort", () => session.close(), { once: true });
}

const statusSuccess = { metadata: {}, status: "Success" };

/** The Status kubectl reads on the error channel for a command that exited non-zero. */
export function exitStatus(exitCode: number): Record<string, unknown> {
  if (exitCode === 0) return statusSuccess;
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

const framed = (channel: number, data: Uint8Array) => {
  const out = new Uint8Array(data.byteLength + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
};

async function serveExec(deps: StreamServerDeps, req: ExecRequest, stream: TunnelStream): Promise<void> {
  const attach = req.kind === "attach";
  const runtime = deps.runtime;
  if (attach ? !runtime.attach : !runtime.exec) {
    stream.reject({ code: 400, reason: "BadRequest", message: `the ${runtime.name} runtime cannot ${req.kind} to containers` });
    return;
  }
  const target = { podUid: req.pod.uid, container: req.pod.container, stdin: req.stdin, tty: req.tty };
  let proc: ExecProcess;
  try {
    proc = attach ? await runtime.attach!(target) : await runtime.exec!({ ...target, command: req.command });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    stream.reject({ code: e instanceof StartError ? 400 : 500, reason: e instanceof StartError ? "BadRequest" : "InternalError", message });
    return;
  }
  stream.accept();
  const v5 = req.protocol === "v5.channel.k8s.io";
  // In arrival order: input typed after a resize reaches the command once the terminal has its size.
  let input: Promise<unknown> = Promise.resolve();
  stream.onData = (data) => {
    if (data.length === 0) return;
    const channel = data[0];
    if (channel === Channel.Stdin) {
      const chunk = data.subarray(1);
      input = input.then(() => proc.stdin?.write(chunk));
    } else if (v5 && channel === Channel.Close && data[1] === Channel.Stdin) input = input.then(() => proc.stdin?.end());
    else if (channel === Channel.Resize && proc.resize) {
      const size = parseTerminalSize(data.subarray(1));
      if (size) input = input.then(() => proc.resize!(size));
    }
  };
  proc.stdin?.on("error", () => {});
  stream.signal.addEventListener("abort", () => proc.kill(), { once: true });
  // With a TTY kubectl reads one output stream: stderr goes there too.
  const errChannel = req.tty ? Channel.Stdout : Channel.Stderr;
  let pending = Promise.resolve();
  const pump = (channel: number) => (chunk: Buffer) => {
    pending = pending.then(() => stream.write(framed(channel, chunk)));
  };
  const drained = (r: NodeJS.ReadableStream) => new Promise<void>((resolve) => r.once("close", resolve));
  const outs = [drained(proc.stdout), drained(proc.stderr)];
  proc.stdout.on("data", pump(Channel.Stdout));
  proc.stderr.on("data", pump(errChannel));
  const exitCode = await proc.exited;
  await Promise.all(outs);
  await pending;
  if (stream.signal.aborted) return;
  // An attach ends with the container (or the client leaving): success, as the kubelet answers.
  await stream.write(framed(Channel.Error, new TextEncoder().encode(JSON.stringify(exitStatus(attach ? 0 : exitCode)))));
  stream.end();
}
