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
