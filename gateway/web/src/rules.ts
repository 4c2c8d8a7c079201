// Plain words for the rule names the scorecard reports (libs/domain/rules.h). A rule not
// listed here is shown by its name, made readable.

const MUST: Record<string, string> = {
  'programme.must_exist': 'Commands act on a chartered programme',
  'programme.unique': 'A programme is chartered once',
  'portfolio.bounds': 'Portfolio bounds are sensible (1 ≤ min ≤ max ≤ 100)',
  'parameters.valid': 'Programme parameters are in range',
  'parameters.max_below_admitted': 'The maximum is never set below the admitted key accounts',
  'parameters.sponsor_load': 'The per-sponsor maximum is never set below a sponsor’s load',
  'approval.champion_or_board': 'Decisions are approved by the champion or the steering board',
  'history.intact': 'The stored history continues its hash chain without gaps',
  'person.unique': 'A person is registered once',
  'person.must_exist': 'People are registered before they act',
  'champion.exactly_one': 'Exactly one active champion',
  'champion.senior_with_top_line': 'The champion is senior, reporting to top management',
  'champion.must_be_active': 'Only an active champion stands down',
  'criteria.valid': 'Selection criteria are well-formed',
  'criteria.weights_sum_100': 'Criteria weights add up to 100%',
  'criteria.no_tenure_or_relationship': 'Tenure or a personal relationship is not a criterion',
  'nomination.unique': 'An account is nominated once while open',
  'account.must_exist': 'Decisions concern a nominated account',
  'account.stage': 'Each decision fits the account’s stage',
  'assessment.current_criteria': 'Assessments use the current criteria version',
  'assessment.complete': 'Assessments score every criterion within its scale',
  'admission.requires_assessment': 'No admission without a complete, current assessment',
  'admission.four_eyes': 'The nominator never approves their own nomination',
  'admission.exception_justified': 'Admissions below threshold carry a written justification',
  'portfolio.max_key_accounts': 'Admitted key accounts stay within the maximum',
  'incubation.review_date': 'Incubations name a future review date',
  'sponsor.registered_executive': 'Sponsors are registered executives',
  'sponsor.max_accounts': 'No sponsor holds more than the maximum number of accounts',
  'sponsor.one_per_account': 'One sponsor per account at a time',
  'sponsor.must_be_assigned': 'Visits and releases need an assigned sponsor',
  'date.not_in_future': 'Logged dates are not in the future',
  'manager.registered_kam': 'Managers are registered key account managers',
  'manager.trained_or_planned': 'Managers are trained or have a dated training plan',
  'manager.one_per_account': 'One key account manager per account at a time',
  'manager.must_be_assigned': 'Releases need an assigned manager',
  'skill.specified': 'Trainings and assessments name a skill',
  'team.membership': 'Team changes concern team members',
  'commitment.owned_by_operations': 'Commitments are owned by operations or supply chain, not sales',
  'commitment.unique': 'A commitment is made once',
  'commitment.must_exist': 'Outcomes concern a recorded commitment',
  'commitment.open': 'A commitment is closed once',
  'benchmark.unique': 'A benchmark is recorded once',
  'benchmark.must_exist': 'Adopted practices name a recorded benchmark',
  'practice.unique': 'A practice is adopted once',
  'retraction.target': 'Only logged records are retracted, each once',
  'metric.shape': 'Metrics carry the fields their kind needs',
  'metric.derived_not_recordable': 'Contribution and lifetime value are computed, never entered',
  'metric.single_currency': 'All money of an account is in one currency',
  'metric.unique_source_record': 'A source system’s record is ingested once',
  'metric.correction_target': 'Corrections name an earlier metric of the same kind',
  'metric.period': 'Metric periods are valid',
};

const FLAGS: Record<string, string> = {
  'history.intact': 'History fails verification',
  'flag.step1.untrained_operations_staff': 'Operations staff untrained',
  'flag.step1.commitment_overdue': 'Commitment overdue',
  'flag.step1.commitment_breached': 'Commitment breached',
  'flag.step2.sponsor_visit_overdue': 'Sponsor visit overdue',
  'flag.step2.no_sponsor_after_grace': 'No sponsor',
  'flag.step3.no_active_champion': 'No active champion',
  'flag.step4.no_selection_criteria': 'No selection criteria',
  'flag.step4.portfolio_below_minimum': 'Portfolio below minimum',
  'flag.step4.admit_then_demote': 'Admit-then-demote',
  'flag.step4.incubation_overdue': 'Incubation decision overdue',
  'flag.step5.training_plan_open': 'Training plan open',
  'flag.step5.training_plan_overdue': 'Training overdue',
  'flag.step6.revenue_only': 'Measured by revenue alone',
  'flag.step6.negative_contribution': 'Negative contribution',
  'flag.step7.account_review_overdue': 'Account review overdue',
  'flag.step7.programme_review_overdue': 'Programme review overdue',
  'flag.step7.benchmark_overdue': 'Benchmark overdue',
};

/** Flags that show in red: the programme's integrity, money lost, or a rule of the method
 *  broken in substance. Every other flag is amber (something to follow up). */
const SEVERE = new Set([
  'history.intact',
  'flag.step1.commitment_breached',
  'flag.step2.no_sponsor_after_grace',
  'flag.step3.no_active_champion',
  'flag.step4.no_selection_criteria',
  'flag.step4.portfolio_below_minimum',
  'flag.step4.admit_then_demote',
  'flag.step6.negative_contribution',
]);

function readable(rule: string): string {
  const words = rule.replace(/^flag\.step\d+\./, '').replace(/[._]/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function mustRuleText(rule: string): string {
  return MUST[rule] ?? readable(rule);
}

export function flagName(rule: string): string {
  return FLAGS[rule] ?? readable(rule);
}

export function flagSeverity(rule: string): 'bad' | 'warn' {
  return SEVERE.has(rule) ? 'bad' : 'warn';
}
