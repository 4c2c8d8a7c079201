// Every event of events.proto told in words: what happened, why, and under which criteria
// version, for the account story, the live feed and anything else that lists events.
import { capitalise, date, functionName, metricName, money, Names, score, sealed, skillName } from './format';
import type { EventEnvelope, EventFields } from './types';

export interface Fact {
  label: string;
  value: string;
}

export interface Described {
  /** The event's name as in events.proto, e.g. AccountNominated. */
  type: string;
  title: string;
  accountId: string;
  /** Why: rationale, reason, notes, justification... */
  why: Fact[];
  /** Further facts worth a line (scores, approver, training plan...). */
  facts: Fact[];
  criteriaVersion: number;
  correctsEventId: string;
  retractsEventId: string;
  tone: 'ok' | 'warn' | 'bad' | 'neutral' | 'accent';
}

const str = (f: EventFields, k: string): string => (typeof f[k] === 'string' ? sealed(f[k] as string) : '');
const num = (f: EventFields, k: string): number => {
  const v = f[k];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') return Number(v);
  return 0;
};
const bool = (f: EventFields, k: string): boolean => f[k] === true;
const arr = (f: EventFields, k: string): unknown[] => (Array.isArray(f[k]) ? (f[k] as unknown[]) : []);
const obj = (v: unknown): EventFields => (v && typeof v === 'object' ? (v as EventFields) : {});

/** The event's kind (the one key of envelope.event) and its fields. */
export function eventKind(env: EventEnvelope): { kind: string; fields: EventFields } {
  const ev = env.event ?? {};
  for (const [k, v] of Object.entries(ev)) {
    if (v && typeof v === 'object') return { kind: k, fields: v };
  }
  return { kind: 'unknown', fields: {} };
}

export function typeName(kind: string): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

const OUTCOME: Record<string, string> = {
  REVIEW_OUTCOME_RETAIN: 'retain',
  REVIEW_OUTCOME_WATCH: 'watch',
  REVIEW_OUTCOME_RETIRE: 'retire',
};

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function describe(env: EventEnvelope, names: Names): Described {
  const { kind, fields: f } = eventKind(env);
  const d: Described = {
    type: typeName(kind),
    title: typeName(kind).replace(/([a-z])([A-Z])/g, '$1 $2'),
    accountId: str(f, 'accountId'),
    why: [],
    facts: [],
    criteriaVersion: num(f, 'criteriaVersion'),
    correctsEventId: str(f, 'correctsEventId'),
    retractsEventId: '',
    tone: 'neutral',
  };
  const why = (label: string, text: string): void => {
    if (text) d.why.push({ label, value: text });
  };
  const fact = (label: string, value: string): void => {
    if (value) d.facts.push({ label, value });
  };
  const person = (k: string): string => names.person(str(f, k));

  switch (kind) {
    case 'programmeChartered':
      d.title = `Programme chartered: ${str(f, 'name')} (${num(f, 'minKeyAccounts')}–${num(f, 'maxKeyAccounts')} key accounts)`;
      why('Rationale', str(f, 'rationale'));
      d.tone = 'accent';
      break;
    case 'programmeParametersChanged': {
      const changed = arr(f, 'changedFields').map((x) => String(x).replace(/_/g, ' '));
      d.title = `Programme parameters changed${changed.length ? `: ${list(changed)}` : ''}`;
      fact('Key accounts', `${num(f, 'minKeyAccounts')}–${num(f, 'maxKeyAccounts')}`);
      fact('Approved by', str(f, 'approvedBy'));
      why('Rationale', str(f, 'rationale'));
      break;
    }
    case 'personRegistered': {
      const fn = arr(f, 'functions').map((x) => functionName(String(x)));
      d.title = `Person registered: ${str(f, 'name')}${fn.length ? ` (${list(fn)})` : ''}`;
      break;
    }
    case 'championAppointed':
      d.title = `Champion appointed: ${person('personId')}`;
      fact('Appointed by', str(f, 'appointedBy'));
      why('Rationale', str(f, 'rationale'));
      d.tone = 'accent';
      break;
    case 'championStoodDown':
      d.title = `Champion stood down: ${person('personId')}`;
      why('Reason', str(f, 'reason'));
      break;
    case 'selectionCriteriaPublished': {
      const crit = arr(f, 'criteria').map((c) => `${str(obj(c), 'name')} ${num(obj(c), 'weightPercent')}%`);
      d.title = `Selection criteria v${num(f, 'criteriaVersion')} published (threshold ${score(num(f, 'threshold'))})`;
      fact('Criteria', crit.join(' · '));
      fact('Published by', str(f, 'publishedBy'));
      why('Rationale', str(f, 'rationale'));
      d.tone = 'accent';
      break;
    }
    case 'accountNominated':
      d.title = 'Nominated';
      fact('Nominated by', str(f, 'nominatedBy'));
      why('Rationale', str(f, 'rationale'));
      break;
    case 'accountAssessed': {
      const s = `criteria v${num(f, 'criteriaVersion')} (score ${score(num(f, 'weightedScore'))})`;
      d.title = d.correctsEventId
        ? `Correction of an earlier assessment: assessed against ${s}`
        : `Assessed against ${s}`;
      fact('Scores', arr(f, 'scores').map((c) => `${str(obj(c), 'criterionId').replace(/-/g, ' ')} ${num(obj(c), 'score')}`).join(' · '));
      fact('Assessed by', str(f, 'assessedBy'));
      why('Notes', str(f, 'notes'));
      if (d.correctsEventId) d.tone = 'warn';
      break;
    }
    case 'accountAdmitted': {
      const sc = `score ${score(num(f, 'weightedScore'))}, threshold ${score(num(f, 'threshold'))}`;
      d.title = bool(f, 'exception')
        ? `Admitted as an exception: ${str(f, 'exceptionJustification')}`
        : `Admitted (${sc})`;
      if (bool(f, 'exception')) fact('Score', sc);
      fact('Nominated by', str(f, 'nominatedBy'));
      fact('Approved by', str(f, 'approvedBy'));
      why('Justification', bool(f, 'exception') ? str(f, 'exceptionJustification') : '');
      d.tone = bool(f, 'exception') ? 'warn' : 'ok';
      break;
    }
    case 'accountIncubated':
      d.title = `Incubated (score ${score(num(f, 'weightedScore'))}), to be decided by ${date(str(f, 'reviewBy'))}`;
      fact('Approved by', str(f, 'approvedBy'));
      why('Rationale', str(f, 'rationale'));
      d.tone = 'accent';
      break;
    case 'nominationRejected':
      d.title = 'Nomination rejected';
      fact('Decided by', str(f, 'decidedBy'));
      why('Reason', str(f, 'reason'));
      d.tone = 'neutral';
      break;
    case 'accountReviewed': {
      const outcome = OUTCOME[str(f, 'outcome')] ?? 'unspecified';
      const m = arr(f, 'metricsConsidered').map((x) => metricName(String(x)));
      d.title = `Reviewed: ${outcome}`;
      fact('Measures considered', list(m));
      fact('Reviewed by', str(f, 'reviewedBy'));
      why('Notes', str(f, 'notes'));
      d.tone = outcome === 'retain' ? 'ok' : outcome === 'watch' ? 'warn' : outcome === 'retire' ? 'bad' : 'neutral';
      break;
    }
    case 'accountRetired': {
      const t = num(f, 'tenureDays');
      d.title = `Retired after ${t} ${t === 1 ? 'day' : 'days'}${bool(f, 'withinMinTenure') ? ' — within the minimum tenure (admit-then-demote)' : ''}`;
      fact('Approved by', str(f, 'approvedBy'));
      why('Reason', str(f, 'reason'));
      d.tone = bool(f, 'withinMinTenure') ? 'bad' : 'neutral';
      break;
    }
    case 'accountObjectivesSet': {
      const m = arr(f, 'measuredBy').map((x) => metricName(String(x)));
      d.title = `Objectives set${m.length ? `, measured by ${list(m)}` : ''}`;
      fact('Set by', str(f, 'setBy'));
      why('Objectives', str(f, 'objectives'));
      break;
    }
    case 'sponsorAssigned':
      d.title = `Sponsor assigned: ${person('personId')}`;
      break;
    case 'sponsorReleased':
      d.title = `Sponsor released: ${person('personId')}`;
      why('Reason', str(f, 'reason'));
      break;
    case 'sponsorVisitLogged':
      d.title = `Sponsor visit by ${person('personId')} on ${date(str(f, 'visitDate'))}`;
      why('Notes', str(f, 'notes'));
      break;
    case 'competencyAssessed':
      d.title = `${person('personId')} assessed in ${skillName(str(f, 'skill'))}: ${bool(f, 'competent') ? 'competent' : 'not yet competent'}`;
      fact('Assessed by', str(f, 'assessedBy'));
      why('Notes', str(f, 'notes'));
      break;
    case 'managerTrained':
      d.title = `${person('personId')} trained in ${skillName(str(f, 'skill'))}`;
      fact('Course', str(f, 'course'));
      fact('Completed on', date(str(f, 'completedOn')));
      break;
    case 'staffTrained':
      d.title = `${person('personId')} trained in KAM`;
      fact('Course', str(f, 'course'));
      fact('Completed on', date(str(f, 'completedOn')));
      break;
    case 'managerAssigned': {
      const plan = arr(f, 'trainingPlan').map((x) => `${skillName(str(obj(x), 'skill'))} by ${date(str(obj(x), 'dueBy'))}`);
      d.title = `Key account manager assigned: ${person('personId')}`;
      fact('Training plan', plan.join(' · '));
      if (plan.length) d.tone = 'warn';
      break;
    }
    case 'managerReleased':
      d.title = `Key account manager released: ${person('personId')}`;
      why('Reason', str(f, 'reason'));
      break;
    case 'teamMemberAssigned':
      d.title = `Team member joined: ${person('personId')}`;
      break;
    case 'teamMemberReleased':
      d.title = `Team member left: ${person('personId')}`;
      break;
    case 'commitmentMade':
      d.title = `Commitment made: ${str(f, 'description')}`;
      fact('Owner', `${person('ownerPersonId')} (${functionName(str(f, 'owningFunction'))})`);
      fact('Due by', date(str(f, 'dueBy')));
      break;
    case 'commitmentFulfilled':
      d.title = `Commitment fulfilled: ${str(f, 'commitmentId')}`;
      why('Evidence', str(f, 'evidence'));
      d.tone = 'ok';
      break;
    case 'commitmentBreached':
      d.title = `Commitment breached: ${str(f, 'commitmentId')}`;
      why('Reason', str(f, 'reason'));
      d.tone = 'bad';
      break;
    case 'programmeReviewed':
      d.title = 'Programme reviewed';
      fact('Reviewed by', str(f, 'reviewedBy'));
      why('Summary', str(f, 'summary'));
      fact('Findings', arr(f, 'findings').map(String).join(' · '));
      break;
    case 'benchmarkRecorded':
      d.title = `Benchmarked against ${str(f, 'comparedWith')}`;
      why('Findings', str(f, 'findings'));
      break;
    case 'bestPracticeAdopted':
      d.title = `Best practice adopted: ${str(f, 'description')}`;
      break;
    case 'recordRetracted':
      d.title = 'An earlier record was retracted';
      d.retractsEventId = str(f, 'retractedEventId');
      why('Reason', str(f, 'reason'));
      d.tone = 'warn';
      break;
    case 'metricRecorded': {
      const k = str(f, 'kind');
      const what = k === 'METRIC_KIND_COST_TO_SERVE'
        ? `cost-to-serve (${str(f, 'activity')})`
        : k === 'METRIC_KIND_CUSTOM' ? str(f, 'customName') : metricName(k);
      const amount = obj(f.amount);
      const value = str(amount, 'currency')
        ? money(str(amount, 'minorUnits') || num(amount, 'minorUnits'), str(amount, 'currency'))
        : score(num(f, 'ratio'));
      d.title = `${capitalise(what)} recorded: ${value} for ${date(str(f, 'periodStart'))} – ${date(str(f, 'periodEnd'))}`;
      fact('Source', `${str(f, 'sourceSystem')} ${str(f, 'sourceRecordId')}`.trim());
      if (d.correctsEventId) d.title = `Correction: ${d.title}`;
      break;
    }
    default:
      break;
  }
  return d;
}
