// #/print: the board pack on one page: overview, register and economics, with the
// programme's name, the date and the verification line on top. Printed through the
// browser (app.css has the @media print rules).
import { h } from '../dom';
import { dateTime, Names } from '../format';
import type { ViewContext } from './context';
import { portfolioEconomics } from './economics';
import { overviewKpis, stepsGrid } from './overview';
import { registerRates, registerTable } from './register';
import { verifiedText } from './verified';

export async function renderPrint(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const [prog, card, ver, reg] = await Promise.all([ctx.data.programme(), ctx.data.scorecard(), ctx.data.verification(), ctx.data.register()]);
  const econ = await ctx.data.economicsOf(prog.accounts.map((a) => a.accountId));
  const names = new Names(prog);
  const v = verifiedText(ver);
  const printBtn = h('button', { class: 'btn btn-primary no-print', attrs: { type: 'button' }, text: 'Print or save as PDF' });
  printBtn.addEventListener('click', () => window.print());
  root.append(h('div', { class: 'print-view', testid: 'print-view' },
    h('header', 'print-head',
      h('div', null,
        h('p', { class: 'print-kicker', text: 'Board pack' }),
        h('h1', { class: 'page-title', text: prog.name, attrs: { tabindex: '-1' } }),
        h('p', { class: 'print-meta', text: `Prepared ${dateTime(new Date())} for ${ctx.session.principal}` }),
        h('p', { class: `print-verified ${v.ok ? 'ok' : 'bad'}`, text: v.text })),
      printBtn),
    h('section', { class: 'print-section', attrs: { 'aria-labelledby': 'pp-overview' } },
      h('h2', { class: 'print-section-title', text: '1. Overview: the seven steps', attrs: { id: 'pp-overview' } }),
      overviewKpis(prog, card, ver, names),
      stepsGrid(card, names, { compact: true })),
    h('section', { class: 'print-section print-break', attrs: { 'aria-labelledby': 'pp-register' } },
      h('h2', { class: 'print-section-title', text: '2. Admission and retirement register', attrs: { id: 'pp-register' } }),
      registerRates(reg),
      registerTable(reg, names, true)),
    h('section', { class: 'print-section print-break', attrs: { 'aria-labelledby': 'pp-economics' } },
      h('h2', { class: 'print-section-title', text: '3. Economics', attrs: { id: 'pp-economics' } }),
      portfolioEconomics(prog, econ, { print: true })),
  ));
}
