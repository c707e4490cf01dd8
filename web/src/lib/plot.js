// A uPlot chart in a container that follows the container's width: the
// mounting both chart components share. Returns the cleanup for useEffect.
import uPlot from 'uplot';

export function mountPlot(opts, data, el, height) {
  const plot = new uPlot(opts, data, el);
  let ro = null;
  if (typeof ResizeObserver !== 'undefined') {
    ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth || 300);
      if (w !== plot.width) plot.setSize({ width: w, height });
    });
    ro.observe(el);
  }
  return () => {
    if (ro) ro.disconnect();
    plot.destroy();
  };
}
