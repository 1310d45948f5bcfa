// Feeds a raw s16le stereo 48 kHz file into a pipe in real time (by this process's clock), looping:
// the audio a Snapcast server reads from its pipe source, as a player application would write it.
// Usage: node --import tsx pipe-feeder.ts <file.raw> <fifo>
import { openSync, readFileSync, writeSync } from 'node:fs';

const [file, fifo] = process.argv.slice(2);
const data = readFileSync(file!);
const fd = openSync(fifo!, 'w'); // blocks until the reader opens it
const CHUNK = 48 * 4 * 10; // 10 ms
let pos = 0,
  sent = 0;
const t0 = performance.now();
setInterval(() => {
  // Everything due by now, so timer lateness never slows the stream.
  const due = Math.floor((performance.now() - t0) / 10) + 1;
  for (; sent < due; sent++) {
    const end = Math.min(pos + CHUNK, data.length);
    writeSync(fd, data, pos, end - pos);
    pos = end >= data.length ? 0 : end;
  }
}, 5);
