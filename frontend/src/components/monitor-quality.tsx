"use client";

/** The drift monitor page's quality parts: the serving stable version's live quality from ground
 * truth (`status.lastQuality`), and during a rollout the candidate beside the stable
 * (`status.candidateEvaluation`) — its drift and its quality, a worse candidate marked in words
 * as well as colour. What the fields mean: docs/drift.md, "Live quality". */

import { Facts } from "@/components/details";
import { DataTable, EmptyState, formatDate } from "@/components/ui";
import {
  formatNumber,
  formatShare,
  metricVerdict,
  pairMetrics,
  thresholdText,
  type CandidateEvaluation,
  type Comparison,
  type Evaluation,
  type Quality,
  type QualityAsked,
  type QualityMetric,
} from "@/lib/monitors";

const AMBIGUOUS = "labelled requests with several rows in the window (a batched request or a reused id), left out: one label cannot say which row it is the truth for";
const UNMATCHED =
  "feedback observed in the window that matched no prediction of this version there: labels of another version or an earlier window, requests not sampled into the payload logs, or wrong ids";

function Verdict({ quality, asked }: { quality: Quality; asked: QualityAsked | null }) {
  const version = quality.modelVersion ?? "the serving version";
  if (quality.insufficientData)
    return (
      <p className="rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
        <span className="font-medium">Too few labels</span> ({quality.labelledRows} of{" "}
        {asked ? `${asked.minLabelledRows} minLabelledRows` : "minLabelledRows"}): no metric was computed for {version} and nothing was
        decided.
      </p>
    );
  if (quality.degraded)
    return (
      <p className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-900">
        <span className="font-medium">Degraded:</span> a metric of {version} is outside its thresholds.
      </p>
    );
  return (
    <p className="rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900">
      <span className="font-medium">Within thresholds:</span> every metric of {version} passed.
    </p>
  );
}

function MetricsTable({ metrics }: { metrics: QualityMetric[] }) {
  return (
    <DataTable caption="Quality metrics" columns={["Metric", "Value", "Threshold", "Result", "Rows"]}>
      {metrics.map((m) => (
        <tr key={m.metric} className={m.passed === false ? "bg-red-50" : undefined}>
          <td className="px-4 py-2 font-medium">{m.metric}</td>
          <td className="px-4 py-2">{formatNumber(m.value)}</td>
          <td className="px-4 py-2">{thresholdText(m)}</td>
          <td className={`px-4 py-2 ${m.passed === false ? "font-medium text-red-800" : ""}`}>{metricVerdict(m)}</td>
          <td className="px-4 py-2">{m.rows}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** The serving stable version's live quality, or why there is none. */
export function LiveQuality({ quality, asked }: { quality: Quality | null; asked: QualityAsked | null }) {
  if (!quality && !asked)
    return (
      <EmptyState title="No quality section">
        Add a quality section to the monitor&apos;s spec to score predictions against ground truth — see &ldquo;Live quality&rdquo; in{" "}
        <code>docs/drift.md</code>.
      </EmptyState>
    );
  if (!quality)
    return (
      <EmptyState title="Not scored yet">
        A run scores a window&apos;s predictions against the ground truth sent to the feedback endpoint
        {asked && asked.labelDelay !== "0s" ? `, ${asked.labelDelay} after the window ends` : ""}.
      </EmptyState>
    );
  const metrics = quality.metrics ?? [];
  return (
    <div className="space-y-4">
      <Verdict quality={quality} asked={asked} />
      <Facts
        rows={[
          ["Model version", quality.modelVersion ? <code key="v">{quality.modelVersion}</code> : "–"],
          ["Scored window", `${formatDate(quality.windowStart)} – ${formatDate(quality.windowEnd)}`],
          ["Labels observed until", formatDate(quality.labelsUntil)],
          ["Labelled rows", `${quality.labelledRows} of ${quality.predictions} predictions`],
          [
            "Ambiguous rows",
            <>
              {quality.ambiguousRows} <span className="text-slate-600">— {AMBIGUOUS}</span>
            </>,
          ],
          [
            "Unmatched feedback",
            <>
              {quality.unmatchedFeedback} <span className="text-slate-600">— {UNMATCHED}</span>
            </>,
          ],
        ]}
      />
      {metrics.length ? <MetricsTable metrics={metrics} /> : null}
    </div>
  );
}

function driftVerdict(evaluation: Evaluation | null | undefined): string {
  if (!evaluation) return "not evaluated";
  if (evaluation.insufficientData) return "too few samples";
  return evaluation.dataset?.drifted ? "yes" : "no";
}

function drifted(evaluation: Evaluation | null | undefined): string {
  const names = (evaluation?.features ?? []).filter((f) => f.drifted).map((f) => f.feature);
  return names.length ? names.join(", ") : "none";
}

function DriftSideBySide({ stable, stableVersion, candidate }: { stable: Evaluation | null; stableVersion: string; candidate: CandidateEvaluation }) {
  const theirs = candidate.evaluation ?? null;
  const rows: [string, string, string][] = [
    ["Samples", String(stable?.samples ?? "–"), String(theirs?.samples ?? "–")],
    ["Drifted share", formatShare(stable?.dataset?.share), formatShare(theirs?.dataset?.share)],
    ["Dataset drifted", driftVerdict(stable), driftVerdict(theirs)],
    ["Drifted features", drifted(stable), drifted(theirs)],
  ];
  return (
    <DataTable caption="Drift, candidate beside stable" columns={[{ label: "Measure", srOnly: true }, `Stable ${stableVersion}`, `Candidate ${candidate.modelVersion}`]}>
      {rows.map(([what, s, c]) => (
        <tr key={what}>
          <th scope="row" className="px-4 py-2 font-medium text-slate-600">
            {what}
          </th>
          <td className="px-4 py-2">{s}</td>
          <td className={`px-4 py-2 ${what === "Dataset drifted" && c === "yes" ? "font-medium text-red-800" : ""}`}>{c}</td>
        </tr>
      ))}
    </DataTable>
  );
}

const BAD: ReadonlySet<Comparison> = new Set(["fails its threshold", "worse"]);

function valueAndVerdict(metric: QualityMetric | undefined): string {
  return metric ? `${formatNumber(metric.value)} (${metricVerdict(metric)})` : "–";
}

function labelled(quality: Quality | null | undefined): string {
  if (!quality) return "no scored window";
  const rows = `${quality.labelledRows} labelled of ${quality.predictions} predictions`;
  return quality.insufficientData ? `${rows}, too few labels: no metric` : rows;
}

function QualitySideBySide({ stable, stableVersion, candidate }: { stable: Quality | null; stableVersion: string; candidate: CandidateEvaluation }) {
  const pairs = pairMetrics(stable, candidate.quality);
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-700">
        Stable {stableVersion}: {labelled(stable)}; candidate {candidate.modelVersion}: {labelled(candidate.quality)}.
      </p>
      {pairs.length ? (
        <DataTable
          caption="Live quality, candidate beside stable"
          columns={["Metric", "Threshold", `Stable ${stableVersion}`, `Candidate ${candidate.modelVersion}`, "Candidate vs stable"]}
        >
          {pairs.map((p) => (
            <tr key={p.metric} className={BAD.has(p.comparison) ? "bg-red-50" : undefined}>
              <td className="px-4 py-2 font-medium">{p.metric}</td>
              <td className="px-4 py-2">{thresholdText(p.candidate ?? p.stable ?? {})}</td>
              <td className="px-4 py-2">{valueAndVerdict(p.stable)}</td>
              <td className="px-4 py-2">{valueAndVerdict(p.candidate)}</td>
              <td className={`px-4 py-2 ${BAD.has(p.comparison) ? "font-medium text-red-800" : ""}`}>{p.comparison}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </div>
  );
}

/** During a rollout: the candidate's drift and live quality beside the stable's. */
export function CandidateVsStable({
  candidate,
  stableEvaluation,
  stableQuality,
  stableVersion,
  asksQuality,
}: {
  candidate: CandidateEvaluation;
  stableEvaluation: Evaluation | null;
  stableQuality: Quality | null;
  stableVersion: string;
  asksQuality: boolean;
}) {
  const worse = pairMetrics(stableQuality, candidate.quality).filter((p) => BAD.has(p.comparison));
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-700">
        Candidate <code>{candidate.modelVersion}</code> is being rolled out; its logged traffic is evaluated over the stable&apos;s window
        and against the same reference (reported only: the conditions and alerts follow the stable).
        {worse.length ? (
          <span className="font-medium text-red-800"> The candidate is worse than the stable on {worse.map((p) => p.metric).join(", ")}.</span>
        ) : null}
      </p>
      {candidate.message ? (
        <p className="rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
          <span className="font-medium">The candidate could not be evaluated:</span> {candidate.message.replace(/\.$/, "")}. The stable&apos;s evaluation stands
          regardless.
        </p>
      ) : null}
      <h3 className="font-medium">Drift</h3>
      <DriftSideBySide stable={stableEvaluation} stableVersion={stableVersion} candidate={candidate} />
      <h3 className="font-medium">Live quality</h3>
      {asksQuality || stableQuality || candidate.quality ? (
        <QualitySideBySide stable={stableQuality} stableVersion={stableVersion} candidate={candidate} />
      ) : (
        <p className="text-sm text-slate-600">No quality section: only drift is compared.</p>
      )}
    </div>
  );
}
