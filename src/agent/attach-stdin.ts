import { Writable } from "node:stream";

/**
 * An attach session's stdin: writes go to the container's stdin; the session's end of input is
 * passed on only for stdinOnce containers (others keep their stdin open for the next session).
 */
export function attachStdin(target: Writable, stdinOnce: boolean): Writable {
  return new Writable({
    write: (chunk: Buffer, _enc, done) => (target.writableEnded ? done() : target.write(chunk, () => done())),
    final: (done) => {
      if (stdinOnce) target.end();
      done();
    },
  });
}
