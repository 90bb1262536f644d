/** Readers of a version's signature and features, which the facade passes through as the
 * ModelVersion spec has them (camelCase, typed loosely in the OpenAPI document). */

export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface Feature {
  name: string;
  type: string;
  input: string;
  index: number | null;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

export function tensors(signature: Record<string, unknown>, side: "inputs" | "outputs"): Tensor[] {
  const list = signature[side];
  if (!Array.isArray(list)) return [];
  return list.map((item) => {
    const tensor = record(item);
    return {
      name: String(tensor.name ?? ""),
      datatype: String(tensor.datatype ?? ""),
      shape: Array.isArray(tensor.shape) ? tensor.shape.map(Number) : [],
    };
  });
}

export function features(list: Record<string, unknown>[]): Feature[] {
  return list.map((item) => ({
    name: String(item.name ?? ""),
    type: String(item.type ?? ""),
    input: String(item.input ?? ""),
    index: typeof item.index === "number" ? item.index : null,
  }));
}

/** `[-1, 4]` → `[any, 4]`: -1 is a dimension of any size (a batch). */
export function formatShape(shape: number[]): string {
  return `[${shape.map((d) => (d === -1 ? "any" : String(d))).join(", ")}]`;
}

/** An OIP v2 request body for the signature's inputs, one row of zeros (a dimension of any size
 * becomes 1), as a starting point to edit; a placeholder tensor when the signature is unknown. */
export function exampleRequest(signature: Record<string, unknown>): string {
  const inputs = tensors(signature, "inputs");
  const list = (inputs.length ? inputs : [{ name: "input", datatype: "FP32", shape: [1, 4] }]).map((tensor) => {
    const shape = tensor.shape.map((d) => (d < 0 ? 1 : d));
    const size = shape.reduce((product, d) => product * d, 1);
    const zero = tensor.datatype === "BYTES" ? "" : tensor.datatype === "BOOL" ? false : 0;
    return { name: tensor.name, shape, datatype: tensor.datatype, data: Array.from({ length: size }, () => zero) };
  });
  return JSON.stringify({ inputs: list }, null, 2);
}
