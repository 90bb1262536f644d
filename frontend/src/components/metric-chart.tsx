"use client";

import { useState } from "react";

import { useMetricHistories } from "@/lib/experiments";

import { LineChart } from "./line-chart";
import { ErrorState, SelectField, Skeleton } from "./ui";

/** One metric's history for the given runs, the metric chosen among `metricKeys`. */
export function MetricChart({
  orgId,
  runs,
  metricKeys,
}: {
  orgId: string;
  runs: { id: string; name: string }[];
  metricKeys: string[];
}) {
  const [chosen, setChosen] = useState<string | null>(null);
  const key = chosen !== null && metricKeys.includes(chosen) ? chosen : (metricKeys[0] ?? null);
  const histories = useMetricHistories(
    orgId,
    runs.map((run) => run.id),
    key,
  );
  if (key === null) return <p className="text-sm text-slate-600">These runs logged no metrics.</p>;
  const names = new Map(runs.map((run) => [run.id, run.name || run.id]));
  return (
    <div>
      <SelectField label="Metric" value={key} onChange={(event) => setChosen(event.target.value)} className="mb-3 w-64">
        {metricKeys.map((metric) => (
          <option key={metric} value={metric}>
            {metric}
          </option>
        ))}
      </SelectField>
      {histories.isLoading ? (
        <Skeleton label={`Loading the history of ${key}`} rows={4} />
      ) : histories.error ? (
        <ErrorState error={histories.error} onRetry={() => void histories.refetch()} />
      ) : (
        <LineChart
          title={`${key} by step`}
          yLabel={key}
          series={(histories.data ?? []).map((history) => ({
            id: history.run_id,
            label: names.get(history.run_id) ?? history.run_id,
            points: history.points,
          }))}
        />
      )}
    </div>
  );
}
