import type { Schemas } from "./api/client";

/** A run's artifacts as a tree, from the facade's flat list (full paths, folders first). */
export interface ArtifactNode {
  name: string;
  path: string;
  isDir: boolean;
  size: number | null;
  children: ArtifactNode[];
}

/** The tree of `entries` (each path relative to the run's artifact root, `model/MLmodel`):
 * folders before files, each by name. An entry whose folder is not listed hangs at the top. */
export function artifactTree(entries: Schemas["ArtifactEntry"][]): ArtifactNode[] {
  const nodes = new Map<string, ArtifactNode>();
  for (const entry of entries) {
    const name = entry.path.split("/").at(-1) ?? entry.path;
    nodes.set(entry.path, { name, path: entry.path, isDir: entry.is_dir, size: entry.size ?? null, children: [] });
  }
  const roots: ArtifactNode[] = [];
  for (const node of nodes.values()) {
    const parent = nodes.get(node.path.slice(0, Math.max(0, node.path.lastIndexOf("/"))));
    (parent?.isDir ? parent.children : roots).push(node);
  }
  const order = (list: ArtifactNode[]) => {
    list.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
    list.forEach((node) => order(node.children));
  };
  order(roots);
  return roots;
}

/** Where MLflow's artifact proxy serves a run's files: the run's `artifact_uri` without its
 * `mlflow-artifacts:` scheme (`1/<run>/artifacts`, or with a `workspaces/<ws>/` prefix), or
 * null when the run's artifacts live elsewhere (`s3://…` written by the client directly),
 * which the facade cannot serve. */
export function proxiedArtifactRoot(artifactUri: string): string | null {
  const match = artifactUri.match(/^mlflow-artifacts:\/*(.*?)\/*$/);
  return match?.[1] ? match[1] : null;
}

/** The path under the facade's MLflow proxy that downloads `file` (relative to the run's root). */
export function artifactDownloadPath(root: string, file: string): string {
  return `api/2.0/mlflow-artifacts/artifacts/${root}/${file}`;
}

/** A path serializer for the facade's MLflow proxy (`…/mlflow/{path}`): each segment of `path`
 * is encoded on its own, so its slashes stay slashes, as the mlflow client sends them. */
export function mlflowPathSerializer(pathname: string, params: Record<string, unknown>): string {
  const segments = (value: unknown) => String(value).split("/").map(encodeURIComponent).join("/");
  return pathname.replace("{org}", encodeURIComponent(String(params.org))).replace("{path}", segments(params.path));
}
