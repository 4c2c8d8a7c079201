// An accessible table whose column headers are buttons that sort it (aria-sort on the
// header cell), with a caption. The sort choice survives a refresh of the view.
import { h, type Child } from './dom';

export interface Column<R> {
  key: string;
  label: string;
  cell: (r: R) => Child;
  /** The value to sort by; null / undefined sort last whatever the direction. */
  sort?: (r: R) => string | number | null | undefined;
  numeric?: boolean;
  class?: string;
  /** A longer explanation of the column (title on the header). */
  title?: string;
}

export interface TableOptions<R> {
  caption: string;
  captionDetail?: Child;
  columns: Column<R>[];
  rows: R[];
  testid?: string;
  rowAttrs?: (r: R) => { testid?: string; class?: string };
  /** Remembers the sort under this key. */
  stateKey: string;
  initialSort?: { key: string; dir: 'asc' | 'desc' };
  /** The first column names the row (th scope=row). */
  rowHeader?: boolean;
  class?: string;
}

const sortState = new Map<string, { key: string; dir: 'asc' | 'desc' }>();

const collator = new Intl.Collator('en-GB', { numeric: true, sensitivity: 'base' });

export function sortableTable<R>(o: TableOptions<R>): HTMLTableElement {
  const table = h('table', { class: `data-table ${o.class ?? ''}`.trim(), testid: o.testid });
  table.appendChild(h('caption', null, h('span', { class: 'caption-title', text: o.caption }), o.captionDetail ? h('span', 'caption-detail', o.captionDetail) : null));
  const headRow = h('tr');
  const ths: HTMLTableCellElement[] = [];
  const tbody = h('tbody');
  const rowEls = o.rows.map((r) => {
    const attrs = o.rowAttrs?.(r) ?? {};
    const tr = h('tr', { testid: attrs.testid, class: attrs.class });
    o.columns.forEach((c, i) => {
      const cls = [c.numeric ? 'num' : '', c.class ?? ''].join(' ').trim() || undefined;
      const cell = i === 0 && o.rowHeader
        ? h('th', { attrs: { scope: 'row' }, class: cls }, c.cell(r))
        : h('td', { class: cls }, c.cell(r));
      tr.appendChild(cell);
    });
    return { r, tr };
  });

  const apply = (): void => {
    const s = sortState.get(o.stateKey);
    const col = s ? o.columns.find((c) => c.key === s.key) : undefined;
    ths.forEach((th, i) => {
      const c = o.columns[i];
      if (!c?.sort) return;
      const active = !!col && c.key === col.key;
      th.setAttribute('aria-sort', active ? (s?.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      const ind = th.querySelector('.sort-ind');
      if (ind) ind.textContent = active ? (s?.dir === 'asc' ? '▲' : '▼') : '↕';
    });
    const sorted = [...rowEls];
    if (col?.sort && s) {
      const key = col.sort;
      sorted.sort((a, b) => {
        const va = key(a.r);
        const vb = key(b.r);
        const na = va === null || va === undefined || va === '';
        const nb = vb === null || vb === undefined || vb === '';
        if (na || nb) return na === nb ? 0 : na ? 1 : -1;
        const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : collator.compare(String(va), String(vb));
        return s.dir === 'asc' ? cmp : -cmp;
      });
    }
    for (const x of sorted) tbody.appendChild(x.tr);
  };

  for (const c of o.columns) {
    const th = h('th', { attrs: { scope: 'col', title: c.title }, class: c.numeric ? 'num' : undefined });
    if (c.sort) {
      const btn = h('button', { class: 'sort-btn', attrs: { type: 'button' }, data: { sortKey: `${o.stateKey}:${c.key}` } },
        h('span', { text: c.label }), h('span', { class: 'sort-ind', attrs: { 'aria-hidden': 'true' }, text: '↕' }));
      btn.addEventListener('click', () => {
        const cur = sortState.get(o.stateKey);
        const dir = cur && cur.key === c.key ? (cur.dir === 'asc' ? 'desc' : 'asc') : c.numeric ? 'desc' : 'asc';
        sortState.set(o.stateKey, { key: c.key, dir });
        apply();
      });
      th.appendChild(btn);
    } else {
      th.textContent = c.label;
    }
    ths.push(th);
    headRow.appendChild(th);
  }
  table.appendChild(h('thead', null, headRow));
  table.appendChild(tbody);
  if (!sortState.has(o.stateKey) && o.initialSort) sortState.set(o.stateKey, o.initialSort);
  apply();
  return table;
}

/** A plain table (no sorting) from headers and rows of cells. */
export function simpleTable(caption: string, headers: string[], rows: Child[][], opts: { numericFrom?: number; testid?: string; class?: string } = {}): HTMLTableElement {
  const nf = opts.numericFrom ?? Infinity;
  return h('table', { class: `data-table ${opts.class ?? ''}`.trim(), testid: opts.testid },
    h('caption', null, h('span', { class: 'caption-title', text: caption })),
    h('thead', null, h('tr', null, headers.map((x, i) => h('th', { attrs: { scope: 'col' }, class: i >= nf ? 'num' : undefined, text: x })))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i === 0
      ? h('th', { attrs: { scope: 'row' } }, c)
      : h('td', { class: i >= nf ? 'num' : undefined }, c)))))),
  );
}
