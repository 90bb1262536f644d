import { describe, expect, it } from "vitest";

import { artifactTree } from "./artifacts";

describe("artifactTree", () => {
  it("nests entries under their folders, folders first, each by name", () => {
    const tree = artifactTree([
      { path: "model", is_dir: true, size: null },
      { path: "plots", is_dir: true, size: null },
      { path: "notes.txt", is_dir: false, size: 12 },
      { path: "model/model.onnx", is_dir: false, size: 2048 },
      { path: "model/MLmodel", is_dir: false, size: 300 },
      { path: "model/meta", is_dir: true, size: null },
      { path: "orphan/x.bin", is_dir: false, size: 1 },
    ]);
    const names = (nodes: typeof tree): unknown[] => nodes.map((n) => (n.children.length ? [n.name, names(n.children)] : n.name));
    expect(names(tree)).toEqual([["model", ["meta", "MLmodel", "model.onnx"]], "plots", "notes.txt", "x.bin"]);
    expect(tree[0]?.children.find((n) => n.name === "model.onnx")?.size).toBe(2048);
  });
});
