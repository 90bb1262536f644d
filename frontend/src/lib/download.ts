/** Saving what an authenticated request answered as a file: the facade's downloads need the
 * bearer token, which a plain link cannot send, so they are fetched and handed to the browser
 * as a blob. */

/** The file name of a `Content-Disposition: attachment; filename="…"` header, else `fallback`. */
export function attachmentName(disposition: string | null, fallback: string): string {
  const quoted = disposition?.match(/filename="([^"]+)"/);
  const bare = disposition?.match(/filename=([^;\s]+)/);
  return quoted?.[1] ?? bare?.[1] ?? fallback;
}

/** Hand a blob to the browser as a download named `filename` (a temporary object URL). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked on a later turn: the browser starts reading the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
