// Building DOM without markup strings: every text goes through textContent, so data from
// the API (which people typed) is never parsed as HTML. No style attributes (the CSP
// forbids them); styles come from classes in app.css or from element.style (CSSOM).

export type Child = Node | string | number | null | undefined | false | Child[];

export interface Props {
  class?: string | undefined;
  /** data-testid */
  testid?: string | undefined;
  text?: string | undefined;
  /** Attributes; undefined / null / false are left out, true is an empty attribute. */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  data?: Record<string, string | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | string | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const pr: Props = typeof props === 'string' ? { class: props } : props ?? {};
  if (pr.class) el.className = pr.class;
  if (pr.testid) el.setAttribute('data-testid', pr.testid);
  if (pr.attrs) {
    for (const [k, v] of Object.entries(pr.attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'style') throw new Error('no style attributes (CSP)');
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (pr.data) {
    for (const [k, v] of Object.entries(pr.data)) if (v !== undefined) el.dataset[k] = v;
  }
  if (pr.on) {
    for (const [k, f] of Object.entries(pr.on)) {
      if (f) el.addEventListener(k, f as EventListener);
    }
  }
  if (pr.text !== undefined) el.textContent = pr.text;
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Text only a screen reader reads. */
export function srOnly(text: string): HTMLSpanElement {
  return h('span', { class: 'sr-only', text });
}

let idCounter = 0;
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

export function link(href: string, text: string, cls?: string): HTMLAnchorElement {
  return h('a', { attrs: { href }, class: cls, text });
}

/** A badge whose meaning is in its words, never its colour alone. */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'neutral' | 'accent', title?: string): HTMLSpanElement {
  return h('span', { class: `badge badge-${tone}`, text, attrs: { title } });
}

export function debounce<A extends unknown[]>(f: (...a: A) => void, ms: number): ((...a: A) => void) & { cancel(): void } {
  let t: number | undefined;
  const d = (...a: A): void => {
    if (t !== undefined) window.clearTimeout(t);
    t = window.setTimeout(() => {
      t = undefined;
      f(...a);
    }, ms);
  };
  d.cancel = (): void => {
    if (t !== undefined) window.clearTimeout(t);
    t = undefined;
  };
  return d;
}
