import { describe, expect, it } from "vitest";

import { ApiError, explainInvalid } from "./api/client";
import { describeSettings, draftFromSpec, settingsUpdate, type SettingsDraft } from "./deployment-settings";

const spec = {
  scaling: { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercent: 70 },
  runtime: { intraOpThreads: 2, batching: { maxBatchSize: 16, maxLatencyMs: 5 }, image: "registry.local/runtime:1" },
  payloadLogging: { sampleRate: 0.1 },
};

function edited(from: SettingsDraft, change: Partial<SettingsDraft>): SettingsDraft {
  return { ...from, ...change };
}

describe("deployment settings", () => {
  it("reads a spec's blocks into the form, and an empty spec as the CRD's defaults", () => {
    expect(draftFromSpec(spec, "production")).toMatchObject({
      environment: "production",
      scalingMode: "autoscale",
      minReplicas: "2",
      maxReplicas: "6",
      targetCpu: "70",
      intraOpThreads: "2",
      batching: true,
      maxBatchSize: "16",
      maxLatencyMs: "5",
      logging: true,
      samplePercent: "10",
      loggingDeclared: true,
    });
    expect(draftFromSpec({}, "staging")).toMatchObject({
      environment: "staging",
      scalingMode: "fixed",
      replicas: "1",
      batching: false,
      logging: false,
      loggingDeclared: false,
    });
  });

  it("sends only the blocks that changed, each whole, and nothing when nothing changed", () => {
    const start = draftFromSpec(spec, "staging");
    expect(settingsUpdate(start, start, false)).toEqual({ errors: {}, body: {} });
    const { errors, body } = settingsUpdate(start, edited(start, { scalingMode: "fixed", replicas: "3", samplePercent: "25" }), false);
    expect(errors).toEqual({});
    expect(JSON.parse(JSON.stringify(body))).toEqual({ scaling: { replicas: 3 }, payload_logging: { sampleRate: 0.25 } });
    // The runtime block keeps its image and batching when only the threads change.
    expect(JSON.parse(JSON.stringify(settingsUpdate(start, edited(start, { intraOpThreads: "" }), false).body))).toEqual({
      runtime: { image: "registry.local/runtime:1", batching: { maxBatchSize: 16, maxLatencyMs: 5 } },
    });
  });

  it("turns declared logging off as a sample rate of 0, and leaves undeclared logging alone", () => {
    const on = draftFromSpec(spec, "staging");
    expect(settingsUpdate(on, edited(on, { logging: false }), false).body).toEqual({ payload_logging: { sampleRate: 0, uri: undefined } });
    const off = draftFromSpec({}, "staging");
    expect(settingsUpdate(off, edited(off, { replicas: "2" }), false).body).toEqual({ scaling: { replicas: 2 } });
  });

  it("checks every field against the CRD's limits before sending", () => {
    const start = draftFromSpec(spec, "staging");
    const { errors } = settingsUpdate(
      start,
      edited(start, { minReplicas: "7", maxReplicas: "6", targetCpu: "120", intraOpThreads: "1.5", maxLatencyMs: "-1", samplePercent: "101", logUri: "http://x" }),
      false,
    );
    expect(errors).toEqual({
      minReplicas: "At most the maximum.",
      targetCpu: "A whole number from 1 to 100.",
      intraOpThreads: "A whole number from 1 to 256.",
      maxLatencyMs: "A number from 0 to 1000.",
      samplePercent: "A number from 0 to 100.",
      logUri: "An s3://bucket/prefix address, or blank for the organization's bucket.",
    });
    expect(settingsUpdate(start, edited(start, { scalingMode: "fixed", replicas: "" }), false).errors).toEqual({ replicas: "Required." });
  });

  it("lets only admins move a deployment into or out of production", () => {
    const staging = draftFromSpec({}, "staging");
    const toProduction = edited(staging, { environment: "production" });
    expect(settingsUpdate(staging, toProduction, false).errors.environment).toMatch(/Only the organization's admins/);
    expect(settingsUpdate(staging, toProduction, true)).toEqual({ errors: {}, body: { environment: "production" } });
  });

  it("says the settings in words", () => {
    expect(describeSettings(spec)).toEqual({
      scaling: "autoscaled from 2 to 6 pods per variant at 70 % CPU",
      runtime: "2 threads per operator, batches of up to 16 within 5 ms, image registry.local/runtime:1",
      logging: "10 % of requests, to the organization's bucket",
    });
    expect(describeSettings({})).toEqual({
      scaling: "1 pod per variant",
      runtime: "threads: the pod's CPU limit, no batching, the platform's serving image",
      logging: "off",
    });
  });

  it("explains a refused body field by field, in the facade's words", () => {
    const refused = new ApiError(400, "bad_request", "request is not valid", [
      { loc: ["body", "scaling"], message: "replicas and autoscaling are mutually exclusive", type: "value_error" },
    ]);
    expect(explainInvalid(refused)).toBe("request is not valid: scaling: replicas and autoscaling are mutually exclusive");
    expect(explainInvalid(new ApiError(409, "conflict", "the deployment changed; read it again"))).toBe("the deployment changed; read it again");
    expect(explainInvalid(new ApiError(403, "permission_denied", "needs admin"))).toBe("Not allowed: needs admin");
  });
});
