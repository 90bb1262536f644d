"use client";

import type { Traffic } from "@/lib/deployments";

/** The split as a bar (stable, then candidate) with its numbers beside it. */
export function TrafficBar({ split, stable, candidate }: { split: Traffic; stable: string; candidate: string | null }) {
  const parts = [`${split.stable} % to ${stable}`];
  if (candidate) parts.push(`${split.candidate} % to ${candidate}`);
  if (split.mirror) parts.push(`${split.mirror} % mirrored to the candidate`);
  const label = `Traffic: ${parts.join(", ")}`;
  return (
    <figure className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <svg role="img" aria-label={label} viewBox="0 0 100 4" preserveAspectRatio="none" className="h-6 w-full overflow-hidden rounded bg-slate-100">
        <rect x={0} y={0} width={split.stable} height={4} className="fill-indigo-500" />
        <rect x={split.stable} y={0} width={split.candidate} height={4} className="fill-amber-400" />
      </svg>
      <figcaption className="mt-2 flex flex-wrap gap-x-6 gap-y-1 text-sm text-slate-700">
        <span>
          <span aria-hidden="true" className="mr-1 inline-block h-3 w-3 rounded-sm bg-indigo-500" />
          stable <code>{stable}</code>: {split.stable} %
        </span>
        {candidate ? (
          <span>
            <span aria-hidden="true" className="mr-1 inline-block h-3 w-3 rounded-sm bg-amber-400" />
            candidate <code>{candidate}</code>: {split.candidate} %
          </span>
        ) : null}
        {split.mirror ? <span>mirrored: {split.mirror} %</span> : null}
      </figcaption>
    </figure>
  );
}
