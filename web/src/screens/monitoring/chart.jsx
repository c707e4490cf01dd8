// A bar chart on uPlot for categories (statuses, latency buckets): one
// series, one bar per label. The canvas is decoration for sighted users;
// the figure's table (given as children) is the text alternative, so the
// canvas is hidden from assistive technology. Resizes with its container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { mountPlot } from '../../lib/plot.js';
import { fmtNumber } from '../../lib/i18n.js';

const HEIGHT = 180;

export function BarChart({ labels, values, color = '#1d5fa8', caption, children, id }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !labels.length) return undefined;
    const xs = labels.map((_, i) => i);
    const width = Math.max(200, el.clientWidth || 300);
    const opts = {
      width,
      height: HEIGHT,
      legend: { show: false },
      padding: [8, 56, 0, 0], // room on the right for the slanted last label
      cursor: { show: false },
      select: { show: false },
      scales: {
        x: { time: false, range: () => [-0.5, labels.length - 0.5] },
        y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] },
      },
      axes: [
        {
          stroke: '#333',
          grid: { show: false },
          ticks: { show: false },
          splits: () => xs,
          values: (u, splits) => splits.map((i) => labels[i] ?? ''),
          font: '11px system-ui, sans-serif',
          rotate: -30,
          size: 64,
        },
        {
          stroke: '#333',
          grid: { stroke: '#e2e2e2' },
          values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? fmtNumber(v) : '')),
          font: '11px system-ui, sans-serif',
          size: 44,
        },
      ],
      series: [
        {},
        {
          stroke: color,
          fill: color,
          width: 0,
          points: { show: false },
          paths: uPlot.paths.bars({ size: [0.6, 64], align: 0 }),
        },
      ],
    };
    return mountPlot(opts, [xs, values], el, HEIGHT);
  }, [labels.join('\u0000'), values.join(',')]);

  return (
    <figure class="mon-figure" id={id}>
      <figcaption>{caption}</figcaption>
      <div class="mon-chart" ref={box} aria-hidden="true" />
      {children}
    </figure>
  );
}
