import { vi } from "vitest";

/** The browser's side of a download (`saveBlob`): each object URL's blob and the link's file
 * name, in order. Restore with `vi.restoreAllMocks()`. */
export function captureDownloads(): { blob: Blob; name: string }[] {
  const saved: { blob: Blob; name: string }[] = [];
  let last: Blob | null = null;
  vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
    last = blob as Blob;
    return "blob:download";
  });
  vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    if (last) saved.push({ blob: last, name: this.download });
  });
  return saved;
}
