import type { Readable } from 'node:stream';

/** Where function output goes: one call per line. */
export type LogSink = (line: string) => void;

export const terminalSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Splits a worker's stdout/stderr into lines and hands each to the sink, prefixed with the function's name. */
export function pipeLines(stream: Readable, prefix: string, sink: LogSink): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) sink(`${prefix} ${line}`);
  });
  stream.on('end', () => {
    if (pending) sink(`${prefix} ${pending}`);
    pending = '';
  });
}
