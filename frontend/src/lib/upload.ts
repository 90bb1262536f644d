import { ApiError, type Schemas, type TokenSource } from "./api/client";

type Progress = (fraction: number) => void;

interface Answer {
  status: number;
  body: unknown;
}

function send(url: string, form: FormData, token: string | null, onProgress: Progress): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      let body: unknown = null;
      try {
        body = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        body = null;
      }
      resolve({ status: request.status, body });
    };
    request.onerror = () => reject(new TypeError("the upload could not reach the server"));
    request.send(form);
  });
}

/**
 * Upload an ONNX file as a model's next version with XMLHttpRequest, the one browser API that
 * reports upload progress (fetch does not). A 401 gets one token refresh and one retry, as the
 * typed client does. Resolves to the new version (201, or 202 while the cluster is unreachable).
 */
export async function uploadVersion(
  tokens: TokenSource,
  target: { orgId: string; modelId: string },
  file: File,
  metadata: Record<string, unknown>,
  onProgress: Progress,
): Promise<Schemas["VersionPublic"]> {
  const url = `${window.location.origin}/api/v1/organizations/${encodeURIComponent(target.orgId)}/models/${encodeURIComponent(target.modelId)}/versions`;
  const form = () => {
    const data = new FormData();
    data.append("file", file, file.name);
    if (Object.keys(metadata).length > 0) data.append("metadata", JSON.stringify(metadata));
    return data;
  };
  let answer = await send(url, form(), tokens.accessToken(), onProgress);
  if (answer.status === 401 && (await tokens.refresh())) {
    onProgress(0);
    answer = await send(url, form(), tokens.accessToken(), onProgress);
  }
  const envelope = (answer.body ?? {}) as { data?: Schemas["VersionPublic"]; error?: { code?: string; message?: string } };
  if ((answer.status === 201 || answer.status === 202) && envelope.data) {
    onProgress(1);
    return envelope.data;
  }
  throw new ApiError(answer.status, envelope.error?.code ?? "error", envelope.error?.message ?? `HTTP ${answer.status}`);
}
