// A uPlot chart that follows its container's width (so it fits a phone) and is rebuilt when
// its data changes; times on the axis are UTC. uPlot takes columns: x values first (seconds since the epoch), then series.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Series {
  label: string;
  color: string;
  values: number[];
  /** How a value is shown in the legend and on the axis. */
  format?: (v: number) => string;
}

export function Chart({ title, x, series, height = 220, bars = false }: { title: string; x: number[]; series: Series[]; height?: number; bars?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const fmt = series[0]?.format ?? ((v: number) => String(v));
    const paths = bars ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      // Usage buckets are UTC days and hours, and the rest of the dashboard shows UTC times.
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}33`,
          width: 2,
          paths,
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : (s.format ?? fmt)(v)),
        })),
      ],
      axes: [{}, { values: (_u: uPlot, vals: number[]) => vals.map((v) => fmt(v)), size: 70 }],
      scales: { x: { time: true }, y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] } },
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)], el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series, height, bars]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}
