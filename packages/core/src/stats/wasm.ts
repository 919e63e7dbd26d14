/**
 * What the statistics' WebAssembly kernels share (mmd.ts, classifier-wasm.ts): the part of
 * the WebAssembly JS API they use, compiling a module against one imported memory, and an
 * encoder of the binary format's instructions, so that each kernel's module is assembled
 * from its instruction list in the file that uses it (a few hundred bytes: no binary file,
 * no build step; no package in the dependency tree assembles WebAssembly).
 */

/** The part of the WebAssembly JS API used here (neither lib ES2023 nor @types/node 20 declares it). */
export interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** A module's exports and its memory (imported as m.mem), or null where WebAssembly (or its SIMD) is missing. */
export function instantiate(bytes: Uint8Array): { memory: WasmMemory; exports: Record<string, unknown> } | null {
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  try {
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { m: { mem: memory } });
    return { memory, exports: instance.exports };
  } catch {
    return null;
  }
}

/** Unsigned LEB128. */
export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
/** Signed LEB128. */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Instructions.
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const i32 = (v: number) => [0x41, ...sleb(v)];
export const add = [0x6a];
export const mul = [0x6c];
export const shl = [0x74];
export const gtU = [0x4b];
export const loadI32 = (offset: number) => [0x28, 2, ...uleb(offset)];
export const loadF64 = [0x2b, 3, 0];
export const loadV128 = [0xfd, ...uleb(0), 3, 0];
export const storeV128 = [0xfd, ...uleb(11), 3, 0];
export const zeroV128 = [0xfd, ...uleb(12), ...new Array<number>(16).fill(0)];
export const splatF64x2 = [0xfd, ...uleb(20)];
export const addF64x2 = [0xfd, ...uleb(240)];
export const subF64x2 = [0xfd, ...uleb(241)];
export const mulF64x2 = [0xfd, ...uleb(242)];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const end = [0x0b];
export const br = (depth: number) => [0x0c, ...uleb(depth)];
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
/** for (; counter + step <= limit (unsigned);) { body; counter += step } */
export const whileFits = (counter: number, step: number, limit: number, body: number[]) => [
  ...block, ...loop,
  ...get(counter), ...i32(step), ...add, ...get(limit), ...gtU, ...brIf(1),
  ...body,
  ...get(counter), ...i32(step), ...add, ...set(counter), ...br(0),
  ...end, ...end,
];

// Instructions added for the MMD kernels (mmd.ts).
export const storeF64 = [0x39, 3, 0];
export const addF64 = [0xa0];
export const convertI32ToF64 = [0xb7];
export const divF64x2 = [0xfd, ...uleb(243)];
export const extractLaneF64x2 = (lane: number) => [0xfd, ...uleb(33), lane];
export const storeV128At = (offset: number) => [0xfd, ...uleb(11), 3, ...uleb(offset)];
export const storeI32 = [0x36, 2, 0];
export const shrU = [0x76];
export const and = [0x71];
export const wrapI64 = [0xa7];
export const ifThen = [0x04, 0x40];
/** v128.const of two float64 lanes equal to v. */
export const constF64x2 = (v: number) => [0xfd, ...uleb(12), ...new Uint8Array(new Float64Array([v, v]).buffer)];
/** v128.const of two int64 lanes equal to v (bit patterns of float64 thresholds, masks). */
export const constI64x2 = (v: bigint) => [0xfd, ...uleb(12), ...new Uint8Array(new BigInt64Array([v, v]).buffer)];
export const absF64x2 = [0xfd, ...uleb(236)];
export const ltF64x2 = [0xfd, ...uleb(73)];
export const geF64x2 = [0xfd, ...uleb(76)];
export const notV128 = [0xfd, ...uleb(77)];
export const andV128 = [0xfd, ...uleb(78)];
export const andNotV128 = [0xfd, ...uleb(79)];
export const orV128 = [0xfd, ...uleb(80)];
export const xorV128 = [0xfd, ...uleb(81)];
/** v128.bitselect(a, b, mask): a where mask bits are set, else b. */
export const bitselectV128 = [0xfd, ...uleb(82)];
export const anyTrueV128 = [0xfd, ...uleb(83)];
export const demoteF64x2Zero = [0xfd, ...uleb(94)];
export const promoteLowF32x4 = [0xfd, ...uleb(95)];
export const extendLowI32x4ToI64x2 = [0xfd, ...uleb(199)];
export const shlI64x2 = [0xfd, ...uleb(203)];
export const shrSI64x2 = [0xfd, ...uleb(204)];
export const shrUI64x2 = [0xfd, ...uleb(205)];
export const addI64x2 = [0xfd, ...uleb(206)];
export const subI64x2 = [0xfd, ...uleb(209)];
export const gtSI64x2 = [0xfd, ...uleb(217)];
export const extractLaneI64x2 = (lane: number) => [0xfd, ...uleb(29), lane];
export const truncSatF64x2ToI32x4Zero = [0xfd, ...uleb(252)];
export const convertLowI32x4ToF64x2 = [0xfd, ...uleb(254)];
/** i8x16.shuffle: bytes lanes[k] of the concatenation a ++ b. */
export const shuffleI8x16 = (lanes: number[]) => [0xfd, ...uleb(13), ...lanes];
/** v128.load with a constant byte offset added to the address on the stack. */
export const loadV128At = (offset: number) => [0xfd, ...uleb(0), 3, ...uleb(offset)];
