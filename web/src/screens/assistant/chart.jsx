// A chart of values per day on uPlot: one or more series as lines (or bars
// with bars), with a small legend; yMax fixes the top (1 for rates). As on
// the monitoring screen the canvas is hidden from assistive technology and
// the figure's table (children) carries the same numbers. Resizes with its
// container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { mountPlot } from '../../lib/plot.js';
import { getLocale } from '../../lib/i18n.js';

const HEIGHT = 200;
export const COLORS = ['#1d4ed8', '#b42318', '#14703a', '#8a4b00', '#6b3fa0', '#0b5b8a', '#9d174d', '#4b5563'];

/** A calendar day ("YYYY-MM-DD", or seconds of its midnight UTC) in the locale, without shifting it by a time zone. */
export function fmtDay(day, opts = { month: 'short', day: 'numeric' }) {
  const ms = typeof day === 'number' ? day * 1000 : Date.parse(day + 'T00:00:00Z');
  if (Number.isNaN(ms)) return String(day);
  return new Intl.DateTimeFormat(getLocale(), { ...opts, timeZone: 'UTC' }).format(new Date(ms));
}

/** Midnight UTC of "YYYY-MM-DD" in seconds (uPlot's time unit). */
export function daySec(day) {
  return Date.parse(day + 'T00:00:00Z') / 1000;
}

export function DayChart({ caption, days, series, fmt, bars, yMax, id, children }) {
  const box = useRef(null);
  const key = JSON.stringify([days, series.map((s) => [s.label, s.values])]);
  useEffect(() => {
    const el = box.current;
    if (!el || !days.length) return undefined;
    const xs = days.map(daySec);
    const width = Math.max(200, el.clientWidth || 300);
    const opts = {
      width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      select: { show: false },
      padding: [8, 16, 0, 0],
      scales: {
        x: { time: true, range: (u, min, max) => (min === max ? [min - 86400, max + 86400] : [min - 43200, max + 43200]) },
        y: { range: (u, min, max) => [0, yMax || (max > 0 ? max * 1.1 : 1)] },
      },
      axes: [
        {
          stroke: '#333',
          grid: { show: false },
          font: '11px system-ui, sans-serif',
          values: (u, splits) => splits.map((v) => fmtDay(v)),
        },
        {
          stroke: '#333',
          grid: { stroke: '#e2e2e2' },
          font: '11px system-ui, sans-serif',
          size: 56,
          values: (u, splits) => splits.map((v) => (fmt ? fmt(v) : String(v))),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const color = s.color || COLORS[i % COLORS.length];
          return bars
            ? { stroke: color, fill: color, width: 0, points: { show: false }, paths: uPlot.paths.bars({ size: [0.6, 48], align: 0 }) }
            : { stroke: color, width: 2, points: { show: true, size: 5, fill: color }, spanGaps: false };
        }),
      ],
    };
    return mountPlot(opts, [xs, ...series.map((s) => s.values.map((v) => (v === null || v === undefined ? null : v)))], el, HEIGHT);
  }, [key]);

  return (
    <figure class="mon-figure ast-figure" id={id}>
      <figcaption>{caption}</figcaption>
      {series.length > 1 ? (
        <ul class="ast-legend" aria-hidden="true">
          {series.map((s, i) => (
            <li key={s.label}>
              <span class="ast-swatch" style={{ background: s.color || COLORS[i % COLORS.length] }} />
              {s.label}
            </li>
          ))}
        </ul>
      ) : null}
      <div class="mon-chart ast-chart" ref={box} aria-hidden="true" />
      {children}
    </figure>
  );
}
