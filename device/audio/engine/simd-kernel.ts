// The resampler's inner loop as a WebAssembly SIMD function (f32x4), about five times cheaper
// than the scalar JavaScript loop, which matters on a Pi. The module is assembled here from its
// instructions (the text form is in the comments), so there is no binary blob and no build step.
//
// Memory is the caller's (imported as m.mem). Each function renders `n` output frames:
//   for each frame: phase = frac·P, p0 = ⌊phase⌋, a = phase − p0,
//     kernel = coef[p0] + a·delta[p0] (rows of T taps), out = Σ kernel[k]·x[i0 + k]
//     frac += ratio; i0 += ⌊frac⌋; frac −= ⌊frac⌋
// and leaves the final frac (f64 at byte 0) and i0 (i32 at byte 8) in memory.
// Stereo ("st") reads rows with each tap duplicated ([c0 c0 c1 c1 …], 8·T bytes) against
// interleaved L/R input, two taps per f32x4; mono ("mo") reads plain rows, four taps per f32x4.
// T must be a multiple of 4. Pointers are byte offsets; `i0` is a frame index into `buf`.

const I32 = 0x7f,
  F64 = 0x7c,
  V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// Instructions used.
const get = (i: number) => [0x20, i],
  set = (i: number) => [0x21, i],
  tee = (i: number) => [0x22, i];
const i32c = (v: number) => [0x41, ...sleb(v)];
const BLOCK = [0x02, 0x40],
  LOOP = [0x03, 0x40],
  END = [0x0b];
const br = (l: number) => [0x0c, l],
  brIf = (l: number) => [0x0d, l];
const I32_EQZ = [0x45],
  I32_ADD = [0x6a],
  I32_SUB = [0x6b],
  I32_MUL = [0x6c],
  I32_SHL = [0x74],
  I32_SHR_U = [0x76];
const F32_ADD = [0x92],
  F64_ADD = [0xa0],
  F64_SUB = [0xa1],
  F64_MUL = [0xa2],
  F64_FLOOR = [0x9c];
const I32_TRUNC_F64_S = [0xaa],
  F64_CONVERT_I32_S = [0xb7],
  F32_DEMOTE_F64 = [0xb6];
const f32Store = (off: number) => [0x38, 2, ...uleb(off)];
const F64_STORE = [0x39, 3, 0],
  i32Store = (off: number) => [0x36, 2, ...uleb(off)];
const V128_LOAD = [0xfd, 0x00, 0, 0];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const F32X4_SPLAT = [0xfd, 0x13],
  lane = (l: number) => [0xfd, 0x1f, l];
const F32X4_ADD = [0xfd, 0xe4, 0x01],
  F32X4_MUL = [0xfd, 0xe6, 0x01];

// Params: 0 out, 1 n, 2 i0, 3 frac, 4 ratio, 5 coef, 6 delta, 7 buf, 8 T, 9 P.
// Locals: 10 phase f64, 11 p0, 12 a v128, 13 acc v128, 14 k, 15 cp, 16 dp, 17 xp, 18 carry f64, 19 row.
const PARAMS = [I32, I32, I32, F64, F64, I32, I32, I32, I32, F64];
const LOCALS: Array<[number, number]> = [
  [1, F64],
  [1, I32],
  [2, V128],
  [4, I32],
  [1, F64],
  [1, I32],
];

function body(stereo: boolean): number[] {
  const [out, n, i0, frac, ratio, coef, delta, buf, T, P] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [phase, p0, a, acc, k, cp, dp, xp, carry, row] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const frameShift = stereo ? 3 : 2; // bytes per input frame = 8 (stereo f32) or 4 (mono)
  const finish = stereo
    ? [
        ...get(out),
        ...get(acc),
        ...lane(0),
        ...get(acc),
        ...lane(2),
        ...F32_ADD,
        ...f32Store(0),
        ...get(out),
        ...get(acc),
        ...lane(1),
        ...get(acc),
        ...lane(3),
        ...F32_ADD,
        ...f32Store(4),
        ...get(out),
        ...i32c(8),
        ...I32_ADD,
        ...set(out),
      ]
    : [
        ...get(out),
        ...get(acc),
        ...lane(0),
        ...get(acc),
        ...lane(1),
        ...F32_ADD,
        ...get(acc),
        ...lane(2),
        ...F32_ADD,
        ...get(acc),
        ...lane(3),
        ...F32_ADD,
        ...f32Store(0),
        ...get(out),
        ...i32c(4),
        ...I32_ADD,
        ...set(out),
      ];
  const code = [
    ...get(T),
    ...i32c(frameShift),
    ...I32_SHL,
    ...set(row), // row bytes = T·(4|8)
    ...BLOCK,
    ...LOOP,
    ...get(n),
    ...I32_EQZ,
    ...brIf(1),
    ...get(frac),
    ...get(P),
    ...F64_MUL,
    ...tee(phase),
    ...I32_TRUNC_F64_S,
    ...set(p0),
    ...get(phase),
    ...get(p0),
    ...F64_CONVERT_I32_S,
    ...F64_SUB,
    ...F32_DEMOTE_F64,
    ...F32X4_SPLAT,
    ...set(a),
    ...get(p0),
    ...get(row),
    ...I32_MUL,
    ...tee(cp),
    ...get(delta),
    ...I32_ADD,
    ...set(dp),
    ...get(cp),
    ...get(coef),
    ...I32_ADD,
    ...set(cp),
    ...get(i0),
    ...i32c(frameShift),
    ...I32_SHL,
    ...get(buf),
    ...I32_ADD,
    ...set(xp),
    ...V128_ZERO,
    ...set(acc),
    ...get(T),
    ...i32c(stereo ? 1 : 2),
    ...I32_SHR_U,
    ...set(k), // f32x4 steps per frame
    ...LOOP,
    ...get(acc),
    ...get(xp),
    ...V128_LOAD,
    ...get(cp),
    ...V128_LOAD,
    ...get(dp),
    ...V128_LOAD,
    ...get(a),
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...set(acc), // acc += x·(c + d·a)
    ...get(xp),
    ...i32c(16),
    ...I32_ADD,
    ...set(xp),
    ...get(cp),
    ...i32c(16),
    ...I32_ADD,
    ...set(cp),
    ...get(dp),
    ...i32c(16),
    ...I32_ADD,
    ...set(dp),
    ...get(k),
    ...i32c(1),
    ...I32_SUB,
    ...tee(k),
    ...brIf(0),
    ...END,
    ...finish,
    ...get(frac),
    ...get(ratio),
    ...F64_ADD,
    ...tee(frac),
    ...F64_FLOOR,
    ...tee(carry),
    ...I32_TRUNC_F64_S,
    ...get(i0),
    ...I32_ADD,
    ...set(i0),
    ...get(frac),
    ...get(carry),
    ...F64_SUB,
    ...set(frac),
    ...get(n),
    ...i32c(1),
    ...I32_SUB,
    ...set(n),
    ...br(0),
    ...END,
    ...END,
    ...i32c(0),
    ...get(frac),
    ...F64_STORE,
    ...i32c(0),
    ...get(i0),
    ...i32Store(8),
    ...END,
  ];
  const fn = [...vec(LOCALS.map(([c, t]) => [...uleb(c), t])), ...code];
  return [...uleb(fn.length), ...fn];
}

function moduleBytes(): Uint8Array {
  const type = [0x60, ...vec(PARAMS.map((p) => [p])), ...vec([])];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...str('m'), ...str('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [0]])),
    ...section(
      7,
      vec([
        [...str('st'), 0x00, 0],
        [...str('mo'), 0x00, 1],
      ]),
    ),
    ...section(10, vec([body(true), body(false)])),
  ]);
}

export type KernelFn = (
  out: number,
  n: number,
  i0: number,
  frac: number,
  ratio: number,
  coef: number,
  delta: number,
  buf: number,
  taps: number,
  phases: number,
) => void;

// The project compiles against ES2022 + Node types, which lack the WebAssembly JS API: the few
// members used are typed here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export interface SimdKernel {
  memory: WasmMemory;
  st: KernelFn;
  mo: KernelFn;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (callers fall back to JS). */
export function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = moduleBytes();
      compiled = WA && WA.validate(bytes) ? new WA.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Instantiates the kernel over a new memory of at least `bytes`. */
export function createSimdKernel(bytes: number): SimdKernel | null {
  const mod = simdModule();
  if (!mod) return null;
  const memory = new WA!.Memory({ initial: Math.ceil(bytes / 65536) });
  const inst = new WA!.Instance(mod, { m: { mem: memory } });
  return { memory, st: inst.exports.st as KernelFn, mo: inst.exports.mo as KernelFn };
}

/** For tests: the module bytes. */
export function simdModuleBytes(): Uint8Array {
  return moduleBytes();
}
