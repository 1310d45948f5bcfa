// Prepended to a worker thread's source when it is a function turned into text and run with
// `new Worker(src, { eval: true })`: esbuild keeps function names through __name() and, in the
// bundle (dist/), turns require() into __require(); the eval'd script has neither, only the
// plain require of a worker script. Without it the rpio line thread and the simulated pulse
// thread die at their first line when run from the bundle.
export const WORKER_SHIM =
  'var __name = (t, n) => { try { Object.defineProperty(t, "name", { value: n, configurable: true }); } catch {} return t; };\nvar __require = require;\n';
