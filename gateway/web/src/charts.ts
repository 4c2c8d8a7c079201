// Apache ECharts, only the parts the page uses (a small bundle), on canvas. Tooltips are
// built as DOM (formatter returns an element) and never as markup, so the strict CSP
// (no inline styles from markup) holds; axis tooltips have no arrow markup either.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { ComposeOption } from 'echarts/core';
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import type {
  GridComponentOption,
  LegendComponentOption,
  TooltipComponentOption,
} from 'echarts/components';
import { h } from './dom';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption
>;

export const COLORS = {
  text: '#344054',
  muted: '#5d6b7e',
  grid: '#e4e7ec',
  axis: '#98a2b3',
  revenue: '#9fb3c8',
  margin: '#1d4f73',
  contribution: '#0b2a3f',
  negative: '#b42318',
  accent: '#1d4f73',
  activities: ['#5b8fb9', '#8fb8a8', '#c2a878', '#a493b8', '#7d8fa3', '#b7c4cf', '#6f9f8c', '#cfb59a'],
};

interface Mounted {
  chart: echarts.ECharts;
  ro: ResizeObserver;
}
const mounted = new Set<Mounted>();

export interface MountOptions {
  /** Render at a higher pixel ratio (crisp when printed). */
  pixelRatio?: number;
}

/** Draws a chart into `el` (which must have a size from CSS) and keeps it sized. */
export function mountChart(el: HTMLElement, option: ChartOption, o: MountOptions = {}): echarts.ECharts {
  const chart = echarts.init(el, undefined, {
    renderer: 'canvas',
    devicePixelRatio: o.pixelRatio ?? Math.max(window.devicePixelRatio || 1, 1),
  });
  const defaults = {
    animation: !window.matchMedia('(prefers-reduced-motion: reduce)').matches,
    textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', color: COLORS.text },
  };
  const withMedia = option as { baseOption?: ChartOption };
  chart.setOption(withMedia.baseOption
    ? { ...option, baseOption: { ...defaults, ...withMedia.baseOption } }
    : { ...defaults, ...option });
  let raf = 0;
  const ro = new ResizeObserver(() => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(() => {
      if (!chart.isDisposed()) chart.resize();
    });
  });
  ro.observe(el);
  mounted.add({ chart, ro });
  return chart;
}

/** Mounts at once when `el` is in the document (so the view is drawn when it reports
 *  ready), else as soon as it is (a view refreshed off-screen, then swapped in). */
export function mountWhenConnected(el: HTMLElement, option: ChartOption, o: MountOptions = {}): void {
  let tries = 0;
  const attempt = (): void => {
    if (el.isConnected) {
      mountChart(el, option, o);
    } else if (tries++ < 120) {
      requestAnimationFrame(attempt);
    }
  };
  // The figure is usually appended right after it is built: look again once that is done.
  queueMicrotask(attempt);
}

export function disposeCharts(within?: Element): void {
  for (const m of [...mounted]) {
    const dom = m.chart.getDom();
    if (within && !within.contains(dom) && document.contains(dom)) continue;
    m.ro.disconnect();
    if (!m.chart.isDisposed()) m.chart.dispose();
    mounted.delete(m);
  }
}

export function resizeCharts(): void {
  for (const m of mounted) if (!m.chart.isDisposed()) m.chart.resize();
}

interface TooltipParam {
  seriesName?: string;
  name?: string;
  axisValueLabel?: string;
  value?: unknown;
  color?: unknown;
}

/** An axis tooltip as DOM: the category, then one row per series. */
export function tooltipFormatter(fmt: (v: number, seriesName: string) => string): (params: unknown) => HTMLElement {
  return (params: unknown): HTMLElement => {
    const list = (Array.isArray(params) ? params : [params]) as TooltipParam[];
    const first = list[0];
    const box = h('div', 'chart-tip', h('div', { class: 'chart-tip-title', text: first?.axisValueLabel ?? first?.name ?? '' }));
    for (const p of list) {
      const raw = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
      if (raw === null || raw === undefined || raw === '-') continue;
      const dot = h('span', { class: 'chart-tip-dot', attrs: { 'aria-hidden': 'true' } });
      if (typeof p.color === 'string') dot.style.background = p.color;
      box.appendChild(h('div', 'chart-tip-row', dot, h('span', { class: 'chart-tip-name', text: p.seriesName ?? '' }), h('span', { class: 'chart-tip-value', text: fmt(Number(raw), p.seriesName ?? '') })));
    }
    return box;
  };
}

export const baseTooltip = (fmt: (v: number, s: string) => string): TooltipComponentOption => ({
  trigger: 'axis',
  confine: true,
  axisPointer: { type: 'shadow' },
  backgroundColor: '#ffffff',
  borderColor: '#d0d5dd',
  padding: [8, 10],
  textStyle: { color: COLORS.text },
  formatter: tooltipFormatter(fmt) as unknown as TooltipComponentOption['formatter'],
});

export const axisCommon = {
  axisLine: { lineStyle: { color: COLORS.axis } },
  axisTick: { lineStyle: { color: COLORS.axis } },
  axisLabel: { color: COLORS.muted, fontSize: 12 },
  splitLine: { lineStyle: { color: COLORS.grid } },
  nameTextStyle: { color: COLORS.muted, fontSize: 12 },
};

/** A chart's container: a figure with a heading, the canvas box and a text summary. */
export function chartFigure(opts: {
  title: string;
  summary: string;
  ariaLabel: string;
  size?: 'normal' | 'tall' | 'short';
  years?: number[];
  table?: HTMLTableElement;
  tableOpen?: boolean;
}): { figure: HTMLElement; box: HTMLDivElement } {
  const box = h('div', {
    class: `chart chart-${opts.size ?? 'normal'}`,
    testid: 'economics-chart',
    attrs: { role: 'img', 'aria-label': opts.ariaLabel },
  });
  if (opts.years) box.dataset.years = opts.years.join(',');
  const figure = h('figure', 'chart-figure',
    h('figcaption', 'chart-caption', h('span', { class: 'chart-title', text: opts.title }), h('span', { class: 'chart-summary', text: opts.summary })),
    box,
  );
  if (opts.table) {
    const det = h('details', 'chart-data', h('summary', { text: 'Show the data as a table' }), h('div', 'table-wrap', opts.table));
    if (opts.tableOpen) det.open = true;
    figure.appendChild(det);
  }
  return { figure, box };
}
