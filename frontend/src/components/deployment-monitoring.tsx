"use client";

import { ApiError } from "@/lib/api/client";
import { timeTicks } from "@/lib/chart";
import {
  noTraffic,
  PANELS,
  panelSeries,
  predictionCharts,
  RANGES,
  rangeName,
  rolloutMarks,
  useDeploymentMetrics,
  METRICS_POLL_MS,
  type DeploymentMetrics,
  type Range,
} from "@/lib/monitoring";
import { useDeploymentEvents, useRollouts } from "@/lib/queries";

import { LineChart, type XAxis } from "./line-chart";
import { EmptyState, ErrorState, SelectField, Skeleton } from "./ui";

const LONG_RANGE_SECONDS = 86400;

/** Time in UTC, as the rest of the dashboard shows it; with the day when the range spans days. */
function timeAxis(metrics: DeploymentMetrics): XAxis {
  const start = Date.parse(metrics.start) / 1000;
  const end = Date.parse(metrics.end) / 1000;
  const options: Intl.DateTimeFormatOptions =
    end - start >= LONG_RANGE_SECONDS
      ? { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }
      : { hour: "2-digit", minute: "2-digit", timeZone: "UTC" };
  const format = new Intl.DateTimeFormat("en-GB", options);
  return { label: "time (UTC)", ticks: (min, max) => timeTicks(min, max, 6), format: (t) => format.format(new Date(t * 1000)) };
}

function Unavailable({ error }: { error: ApiError }) {
  return (
    <div role="alert" className="rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
      <p className="font-medium">Metrics are unavailable right now.</p>
      <p className="mt-1">
        The facade could not read them from Prometheus ({error.message}). The charts come back on their own once it answers; ask
        your platform team if this persists.
      </p>
    </div>
  );
}

function Charts({ orgId, name, metrics }: { orgId: string; name: string; metrics: DeploymentMetrics }) {
  const rollouts = useRollouts(orgId, name, METRICS_POLL_MS);
  const events = useDeploymentEvents(orgId, name, METRICS_POLL_MS);
  const start = Date.parse(metrics.start) / 1000;
  const end = Date.parse(metrics.end) / 1000;
  const xAxis = timeAxis(metrics);
  const marks = rolloutMarks(rollouts.data?.data ?? [], events.data ?? [], start, end);
  return (
    <>
      {marks.length ? (
        <div className="mb-4 rounded-lg bg-white p-4 text-sm shadow-sm ring-1 ring-slate-200">
          <h3 className="font-medium">Rollout moments on the time axis</h3>
          <ol aria-label="Rollout moments" className="mt-2 list-decimal space-y-0.5 pl-6">
            {marks.map((mark, index) => (
              <li key={`${mark.at}-${index}`}>
                <span className="tabular-nums text-slate-600">{xAxis.format(mark.at)}</span> {mark.text}
              </li>
            ))}
          </ol>
        </div>
      ) : null}
      <div className="grid gap-4 xl:grid-cols-2">
        {PANELS.map((panel) => (
          <LineChart
            key={panel.title}
            title={`${panel.title} (${panel.unit})`}
            yLabel={panel.unit}
            series={panelSeries(panel, metrics.versions)}
            xAxis={xAxis}
            xDomain={[start, end]}
            marks={marks.map((mark) => ({ x: mark.at, text: mark.text }))}
          />
        ))}
        {predictionCharts(metrics.versions).map((chart) => (
          <div key={chart.output}>
            <LineChart
              title={chart.title}
              yLabel={chart.unit}
              series={chart.series}
              xAxis={xAxis}
              xDomain={[start, end]}
              marks={marks.map((mark) => ({ x: mark.at, text: mark.text }))}
            />
            {chart.hiddenClasses ? (
              <p className="mt-1 text-xs text-slate-600">
                The {chart.hiddenClasses} less predicted {chart.hiddenClasses === 1 ? "class is" : "classes are"} not drawn.
              </p>
            ) : null}
          </div>
        ))}
      </div>
    </>
  );
}

/** The Monitoring tab: what the deployment's pods served over a range, per version (stable and
 * candidate overlaid), with the rollout's moments marked; refreshed every 30 s. */
export function DeploymentMonitoring({
  orgId,
  name,
  range,
  onRangeChange,
}: {
  orgId: string;
  name: string;
  range: Range;
  onRangeChange: (range: Range) => void;
}) {
  const metrics = useDeploymentMetrics(orgId, name, range);
  const data = metrics.data;
  return (
    <div className="mt-4">
      <div className="mb-4 flex flex-wrap items-end gap-4">
        <SelectField label="Range" value={range} onChange={(event) => onRangeChange(event.target.value as Range)} className="w-48">
          {RANGES.map((value) => (
            <option key={value} value={value}>
              {rangeName(value)}
            </option>
          ))}
        </SelectField>
        <p className="text-sm text-slate-600">
          Refreshed every {METRICS_POLL_MS / 1000} s
          {data ? `; a point every ${data.step_seconds} s, rates over ${data.window_seconds} s windows` : ""}.
        </p>
      </div>
      {metrics.isLoading ? (
        <Skeleton label="Loading the metrics" rows={4} />
      ) : metrics.error instanceof ApiError && metrics.error.code === "metrics_unavailable" ? (
        <Unavailable error={metrics.error} />
      ) : metrics.error || !data ? (
        <ErrorState error={metrics.error} onRetry={() => void metrics.refetch()} />
      ) : noTraffic(data) ? (
        <EmptyState title="No traffic in this range yet">
          Nothing reached {name}&apos;s pods in the {rangeName(range).toLowerCase()}. Try a longer range, or send a request from the
          Overview tab.
        </EmptyState>
      ) : (
        <Charts orgId={orgId} name={name} metrics={data} />
      )}
    </div>
  );
}
