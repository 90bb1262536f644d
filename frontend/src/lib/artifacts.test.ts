import { describe, expect, it } from "vitest";

import { artifactDownloadPath, artifactTree, mlflowPathSerializer, proxiedArtifactRoot } from "./artifacts";

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

describe("artifact downloads", () => {
  it.each([
    ["mlflow-artifacts:/1/abc/artifacts", "1/abc/artifacts"],
    ["mlflow-artifacts:///workspaces/mp-acme/1/abc/artifacts/", "workspaces/mp-acme/1/abc/artifacts"],
    ["mlflow-artifacts:/", null],
    ["s3://bucket/1/abc/artifacts", null],
    ["", null],
  ])("finds the proxied root of %s", (uri, root) => {
    expect(proxiedArtifactRoot(uri)).toBe(root);
  });

  it("keeps the slashes of the proxied path and encodes each segment", () => {
    const path = artifactDownloadPath("1/abc/artifacts", "plots/roc curve#1.png");
    expect(mlflowPathSerializer("/api/v1/organizations/{org}/mlflow/{path}", { org: "acme", path })).toBe(
      "/api/v1/organizations/acme/mlflow/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/plots/roc%20curve%231.png",
    );
  });
});
